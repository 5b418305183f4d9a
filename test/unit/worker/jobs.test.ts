import { resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import type {
  AnyBackupRecord,
  AnyRestoreRecord,
  ArchiveRecord,
  ArchiveRestoreRecord,
  BackupRecord,
  RestoreRecord,
} from '../../../lib/backup/records';
import { InvalidInput } from '../../../lib/errors';
import type { Publisher } from '../../../lib/notify/publisher';
import type { BackupStore, RestoreStore } from '../../../lib/store/backups';
import { runJob, volumeTarget, type WorkerJobDeps } from '../../../lib/worker/jobs';

const ROOT = '/mnt/shop-uploads';
const BACKUP_ID = 'bkp-3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';
const RESTORE_ID = 'rst-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const NOW = new Date('2026-11-23T04:00:00.000Z');
const CREATED = '2026-11-23T03:59:58.000Z';

describe('volumeTarget', () => {
  it.each([
    ['a directory', 'restored', `${ROOT}/restored`],
    ['a nested directory', 'restored/2026-11-23', `${ROOT}/restored/2026-11-23`],
    ['a path that steps back but stays inside', 'a/../b', `${ROOT}/b`],
    // Names that merely begin with two dots are ordinary names, as the API lets them through.
    ['a name beginning with two dots', '..cache', `${ROOT}/..cache`],
    ['a name of three dots', '...', `${ROOT}/...`],
    ['a path with ./ segments', './restored/./today', `${ROOT}/restored/today`],
  ])('given %s, when it is resolved under the volume, then it lands inside', (_label, path, expected) => {
    // when
    const target = volumeTarget(ROOT, path);

    // then
    expect(target).toBe(expected);
  });

  it.each([
    ['nothing', ''],
    ['the root itself', '.'],
    ['a path that ends back at the root', 'restored/..'],
    ['an absolute path', '/etc'],
    ['an absolute path inside the root', `${ROOT}/restored`],
    ['a parent escape', '..'],
    ['a parent escape to a sibling', '../other-volume'],
    ['an escape hidden in the middle', 'restored/../../other-volume/x'],
  ])('given %s, when it is resolved under the volume, then it is refused as invalid input', (_label, path) => {
    // when
    const attempt = () => volumeTarget(ROOT, path);

    // then
    expect(attempt).toThrow(InvalidInput);
    expect(attempt).toThrow(`target path ${JSON.stringify(path)} must be a directory inside the volume`);
  });

  it('given a relative root, when a path is resolved, then the target is absolute and inside it', () => {
    // when
    const target = volumeTarget('scratch/volume', 'restored');

    // then
    expect(target).toBe(resolve('scratch/volume', 'restored'));
  });
});

/** A store that answers `get` from `records` and, like DynamoDB's conditional update, changes nothing unless the status is one of `from`. */
function fakeStore<T extends { id: string; status: string }>(records: T[]) {
  const byId = new Map(records.map((record) => [record.id, { ...record }]));
  const get = jest.fn(async (id: string) => byId.get(id));
  const update = jest.fn(async (id: string, from: readonly string[], set: Partial<T>) => {
    const current = byId.get(id);
    // A lost conditional write: the record is not in a status the caller may move it from.
    if (!current || !from.includes(current.status)) return undefined;
    const next = { ...current, ...set };
    byId.set(id, next);
    return next;
  });
  return { get, update };
}

const archive = (overrides: Partial<ArchiveRecord> = {}): ArchiveRecord => ({
  id: BACKUP_ID,
  kind: 'volume-archive',
  volume: 'shop-uploads',
  status: 'QUEUED',
  trigger: 'schedule',
  runner: 'lambda',
  bucket: 'slipway-prod-backups',
  prefix: 'volumes/shop-uploads/',
  compression: 'gzip',
  createdAt: CREATED,
  updatedAt: CREATED,
  ...overrides,
});

const archiveRestore = (overrides: Partial<ArchiveRestoreRecord> = {}): ArchiveRestoreRecord => ({
  id: RESTORE_ID,
  kind: 'volume',
  volume: 'shop-uploads',
  backupId: BACKUP_ID,
  target: { path: 'restored/2026-11-23' },
  force: false,
  runner: 'lambda',
  status: 'QUEUED',
  requestedBy: 'api:ops',
  drill: false,
  createdAt: CREATED,
  updatedAt: CREATED,
  ...overrides,
});

/** Deps whose worker side effects are all observable: any use of S3, credentials or notifications is recorded. */
function depsWith(backups: AnyBackupRecord[], restores: AnyRestoreRecord[]) {
  const store = fakeStore<AnyBackupRecord>(backups);
  const restoreStore = fakeStore<AnyRestoreRecord>(restores);
  const s3Used = jest.fn();
  const s3 = new Proxy({} as S3Client, {
    get: (_target, property) => {
      s3Used(property);
      throw new Error(`S3 used: ${String(property)}`);
    },
  });
  const connectionFor = jest.fn(async (_secretId: string) => {
    throw new Error('credentials read');
  });
  const publish = jest.fn(async () => true);
  const deps: WorkerJobDeps = {
    store: store as unknown as BackupStore,
    restores: restoreStore as unknown as RestoreStore,
    s3,
    publisher: { publish } satisfies Publisher,
    volumeRoot: '/nonexistent/slipway-test-volumes',
    scratchRoot: '/nonexistent/slipway-test-scratch',
    connectionFor,
    now: () => NOW,
  };
  return { deps, store, restoreStore, s3Used, connectionFor, publish };
}

describe('runJob', () => {
  describe('a backup job', () => {
    it('given no record with its id, when it runs, then it is UNKNOWN and nothing is claimed', async () => {
      // given
      const { deps, store, s3Used, connectionFor, publish } = depsWith([], []);

      // when
      const outcome = await runJob({ type: 'backup', backupId: BACKUP_ID }, deps);

      // then
      expect(outcome).toEqual({ id: BACKUP_ID, status: 'UNKNOWN', reason: `no archive or dump ${BACKUP_ID}` });
      expect(store.get).toHaveBeenCalledWith(BACKUP_ID);
      expect(store.update).not.toHaveBeenCalled();
      expect(s3Used).not.toHaveBeenCalled();
      expect(connectionFor).not.toHaveBeenCalled();
      expect(publish).not.toHaveBeenCalled();
    });

    it('given a queued dump on a runner without the PostgreSQL tools (a volume function), when it runs, then it fails saying where dumps run', async () => {
      // given
      const dump = archive({
        kind: 'postgres-dump',
        volume: undefined,
        database: 'shop-db',
        credentialsSecret: 'slipway/shop-db-dump',
        runner: 'ecs',
        status: 'QUEUED',
      });
      const { deps, store, s3Used, connectionFor, publish } = depsWith([dump], []);

      // when
      const outcome = await runJob({ type: 'backup', backupId: BACKUP_ID }, deps);

      // then
      const reason = 'dumps run on the worker task: this runner has no PostgreSQL tools';
      expect(outcome).toEqual({ id: BACKUP_ID, status: 'FAILED', reason });
      expect(await store.get(BACKUP_ID)).toMatchObject({ status: 'FAILED', reason });
      expect(connectionFor).not.toHaveBeenCalled();
      expect(s3Used).not.toHaveBeenCalled();
      expect(publish).toHaveBeenCalledTimes(1);
    });

    it('given the id is an RDS snapshot, not an archive, when it runs, then it is UNKNOWN and nothing is claimed', async () => {
      // given
      const snapshot: BackupRecord = {
        id: BACKUP_ID,
        kind: 'rds-snapshot',
        database: 'shop-db',
        source: { type: 'instance', identifier: 'shop-prod-db' },
        region: 'us-east-1',
        snapshotIdentifier: 'slipway-shop-db-2026-11-23-03-00',
        status: 'CREATING',
        trigger: 'schedule',
        createdAt: CREATED,
        updatedAt: CREATED,
      };
      const { deps, store } = depsWith([snapshot], []);

      // when
      const outcome = await runJob({ type: 'backup', backupId: BACKUP_ID }, deps);

      // then
      expect(outcome).toEqual({ id: BACKUP_ID, status: 'UNKNOWN', reason: `no archive or dump ${BACKUP_ID}` });
      expect(store.update).not.toHaveBeenCalled();
    });

    it.each([
      ['a volume archive another run is creating', archive({ status: 'CREATING' })],
      [
        'a dump already available',
        archive({
          kind: 'postgres-dump',
          volume: undefined,
          database: 'shop-db',
          credentialsSecret: 'slipway/shop-db-dump',
          runner: 'ecs',
          status: 'AVAILABLE',
        }),
      ],
    ])('given %s, when it runs again, then it reports the claim and does no work', async (_label, record) => {
      // given
      const { deps, store, s3Used, connectionFor, publish } = depsWith([record], []);

      // when
      const outcome = await runJob({ type: 'backup', backupId: BACKUP_ID }, deps);

      // then only the claim was attempted, from QUEUED
      expect(outcome).toEqual({ id: BACKUP_ID, status: record.status, reason: 'already claimed by another run' });
      expect(store.update).toHaveBeenCalledTimes(1);
      expect(store.update).toHaveBeenCalledWith(BACKUP_ID, ['QUEUED'], {
        status: 'CREATING',
        updatedAt: NOW.toISOString(),
      });
      // and no archive or dump was started
      expect(s3Used).not.toHaveBeenCalled();
      expect(connectionFor).not.toHaveBeenCalled();
      expect(publish).not.toHaveBeenCalled();
    });
  });

  describe('a restore job', () => {
    it('given no record with its id, when it runs, then it is UNKNOWN and nothing is claimed', async () => {
      // given
      const { deps, store, restoreStore } = depsWith([archive({ status: 'AVAILABLE' })], []);

      // when
      const outcome = await runJob({ type: 'restore', restoreId: RESTORE_ID }, deps);

      // then
      expect(outcome).toEqual({ id: RESTORE_ID, status: 'UNKNOWN', reason: `no archive restore ${RESTORE_ID}` });
      expect(restoreStore.get).toHaveBeenCalledWith(RESTORE_ID);
      expect(restoreStore.update).not.toHaveBeenCalled();
      expect(store.get).not.toHaveBeenCalled();
    });

    it('given the id is an RDS restore, when it runs, then it is UNKNOWN and nothing is claimed', async () => {
      // given
      const rdsRestore: RestoreRecord = {
        id: RESTORE_ID,
        kind: 'rds',
        database: 'shop-db',
        source: { type: 'instance', identifier: 'shop-prod-db' },
        from: { pointInTime: 'latest' },
        targetIdentifier: 'shop-restored',
        region: 'us-east-1',
        status: 'RESTORING',
        requestedBy: 'api:ops',
        drill: false,
        createdAt: CREATED,
        updatedAt: CREATED,
      };
      const { deps, restoreStore } = depsWith([], [rdsRestore]);

      // when
      const outcome = await runJob({ type: 'restore', restoreId: RESTORE_ID }, deps);

      // then
      expect(outcome).toEqual({ id: RESTORE_ID, status: 'UNKNOWN', reason: `no archive restore ${RESTORE_ID}` });
      expect(restoreStore.update).not.toHaveBeenCalled();
    });

    it.each([
      ['a volume restore another run is restoring', archiveRestore({ status: 'RESTORING' })],
      [
        'a volume drill that already failed',
        archiveRestore({ status: 'FAILED', target: { scratch: true }, drill: true }),
      ],
      [
        'a dump restore already available',
        archiveRestore({
          kind: 'postgres-dump',
          volume: undefined,
          database: 'shop-db',
          target: { database: 'shop_restored' },
          runner: 'ecs',
          status: 'AVAILABLE',
        }),
      ],
    ])('given %s, when it runs again, then it reports the claim and does no work', async (_label, record) => {
      // given
      const { deps, store, restoreStore, s3Used, connectionFor, publish } = depsWith(
        [archive({ status: 'AVAILABLE', manifestKey: 'volumes/shop-uploads/2026-11-23T03-00-00Z.manifest.json' })],
        [record],
      );

      // when
      const outcome = await runJob({ type: 'restore', restoreId: RESTORE_ID }, deps);

      // then only the claim was attempted, from QUEUED
      expect(outcome).toEqual({ id: RESTORE_ID, status: record.status, reason: 'already claimed by another run' });
      expect(restoreStore.update).toHaveBeenCalledTimes(1);
      expect(restoreStore.update).toHaveBeenCalledWith(RESTORE_ID, ['QUEUED'], {
        status: 'RESTORING',
        updatedAt: NOW.toISOString(),
      });
      // and the backup was never read, nothing restored, nothing cleaned up, nobody told
      expect(store.get).not.toHaveBeenCalled();
      expect(s3Used).not.toHaveBeenCalled();
      expect(connectionFor).not.toHaveBeenCalled();
      expect(publish).not.toHaveBeenCalled();
    });
  });
});
