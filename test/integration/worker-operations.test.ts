import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/aws/clients/s3';
import { type EmbeddedServer, startS3rver } from '../../lib/local/servers';
import { backupPostgres } from '../../lib/worker/postgres';
import { backupVolume } from '../../lib/worker/volume';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';
import { runWorker } from '../support/worker';

const exec = promisify(execFile);
const BUCKET = 'onprem-backups';
const PASSWORD = 'drill-password';

let work: string;
let s3rver: EmbeddedServer;
let s3: S3Client;
let cluster: ThrowawayPostgres;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-worker-ops-'));
  mkdirSync(join(work, 's3'));
  [s3rver, cluster] = await Promise.all([
    startS3rver(join(work, 's3')),
    startThrowawayPostgres({ password: PASSWORD }),
  ]);
  s3 = createS3Client({ AWS_ENDPOINT_URL: s3rver.endpoint, AWS_REGION: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 120_000);

afterAll(async () => {
  await Promise.all([s3rver?.close(), cluster?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

/** The command as a systemd unit runs it: its own process, the store's endpoint in its environment. */
const worker = (args: string[]) =>
  runWorker(args, {
    AWS_ENDPOINT_URL: s3rver.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    SLIPWAY_PG_BIN_DIR: cluster.binDir,
  });

/** The command's result: stdout is exactly one JSON line, which is what a timer's unit or a script reads. */
function resultOf(stdout: string) {
  const lines = stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stdout, got ${lines.length}:\n${stdout}`);
  return JSON.parse(lines[0] ?? '{}');
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key as string).sort();
}

/** A small tree with `files` files, backed up under `prefix` as taken at `at`. */
async function volumeBackup(prefix: string, at: string, files = 2) {
  const dir = mkdtempSync(join(work, 'tree-'));
  mkdirSync(join(dir, 'images'));
  for (let i = 0; i < files; i += 1) writeFileSync(join(dir, 'images', `${i}.txt`), `file ${i} of ${at}\n`);
  return backupVolume({ dir, s3, bucket: BUCKET, prefix, now: () => new Date(at) });
}

/** The object with one byte flipped halfway: what a damaged disk or a bad copy leaves. */
async function corrupt(key: string) {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = Buffer.from((await response.Body?.transformToByteArray()) ?? []);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
}

describe('slipway-worker prune', () => {
  const PREFIX = 'volumes/uploads';
  const DAYS = ['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-04', '2025-01-05'];
  const stamp = (day: string) => `${day.replaceAll('-', '')}T030000Z`;
  const prune = (retention: string, ...more: string[]) =>
    worker(['prune', '--bucket', BUCKET, '--prefix', PREFIX, '--retention', retention, ...more]);

  beforeAll(async () => {
    for (const day of DAYS) await volumeBackup(PREFIX, `${day}T03:00:00Z`);
    // A run that failed before its manifest, and a sibling prefix that shares the name's start.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/20250106T030000Z.tar.gz`, Body: 'partial' }));
    await volumeBackup('volumes/uploads-old', '2024-06-01T03:00:00Z');
  });

  it('given five backups, when pruned with --dry-run, then it says what it would delete and why, and deletes nothing', async () => {
    // given
    const before = await keysUnder('volumes/');

    // when
    const run = await prune('daily=2,weekly=0,monthly=0', '--dry-run');

    // then
    expect(run.code).toBe(0);
    const result = resultOf(run.stdout);
    expect(result).toMatchObject({ command: 'prune', dryRun: true, retention: { daily: 2, weekly: 0, monthly: 0 } });
    expect(result.kept).toEqual([
      {
        manifest: `${PREFIX}/${stamp('2025-01-05')}.manifest.ndjson`,
        kind: 'volume',
        createdAt: '2025-01-05T03:00:00.000Z',
        reasons: ['newest successful backup', 'daily 2025-01-05'],
      },
      {
        manifest: `${PREFIX}/${stamp('2025-01-04')}.manifest.ndjson`,
        kind: 'volume',
        createdAt: '2025-01-04T03:00:00.000Z',
        reasons: ['daily 2025-01-04'],
      },
    ]);
    expect(result.deleted.map((entry: { manifest: string }) => entry.manifest)).toEqual(
      ['2025-01-03', '2025-01-02', '2025-01-01'].map((day) => `${PREFIX}/${stamp(day)}.manifest.ndjson`),
    );
    expect(result.deleted[0]).toEqual({
      manifest: `${PREFIX}/${stamp('2025-01-03')}.manifest.ndjson`,
      kind: 'volume',
      createdAt: '2025-01-03T03:00:00.000Z',
      reason: 'beyond retention (daily 2, weekly 0, monthly 0)',
      objects: [`${PREFIX}/${stamp('2025-01-03')}.tar.gz`, `${PREFIX}/${stamp('2025-01-03')}.manifest.ndjson`],
    });
    expect(result.orphans).toEqual([{ key: `${PREFIX}/20250106T030000Z.tar.gz`, lastModified: expect.any(String) }]);
    expect(await keysUnder('volumes/')).toEqual(before);
  });

  it('given backups all older than the window, when pruned for real, then every object of the pruned ones is gone and the newest complete one stays', async () => {
    // when
    const run = await prune('daily=0,weekly=0,monthly=0');

    // then
    expect(run.code).toBe(0);
    const result = resultOf(run.stdout);
    expect(result.dryRun).toBe(false);
    expect(result.kept).toEqual([expect.objectContaining({ reasons: ['newest successful backup'] })]);
    expect(result.deleted).toHaveLength(4);
    expect(result.failed).toEqual([]);
    // the newest's archive and manifest, the orphan left as it was, and the sibling prefix untouched
    expect(await keysUnder('volumes/')).toEqual([
      'volumes/uploads-old/20240601T030000Z.manifest.ndjson',
      'volumes/uploads-old/20240601T030000Z.tar.gz',
      `${PREFIX}/${stamp('2025-01-05')}.manifest.ndjson`,
      `${PREFIX}/${stamp('2025-01-05')}.tar.gz`,
      `${PREFIX}/20250106T030000Z.tar.gz`,
    ]);
  });

  it('given a bad --retention, when run, then it exits 2 naming the part and deletes nothing', async () => {
    const before = await keysUnder('volumes/');
    const run = await prune('daily=0,fortnightly=1');
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(
      'slipway-worker: --retention: "fortnightly=1" is not daily=N, weekly=N or monthly=N',
    );
    expect(await keysUnder('volumes/')).toEqual(before);
  });
});

describe('slipway-worker drill-volume', () => {
  const PREFIX = 'drills/volume';
  let newest: Awaited<ReturnType<typeof volumeBackup>>;

  beforeAll(async () => {
    await volumeBackup(PREFIX, '2026-11-21T03:00:00Z', 1);
    newest = await volumeBackup(PREFIX, '2026-11-22T03:00:00Z', 3);
  });

  it('given backups under the prefix, when drilled, then the newest is restored, counted against its manifest, timed and removed', async () => {
    // when
    const run = await worker(['drill-volume', '--bucket', BUCKET, '--prefix', PREFIX, '--max-rto', '14400']);

    // then
    expect(run.code).toBe(0);
    const result = resultOf(run.stdout);
    expect(result).toEqual({
      command: 'drill-volume',
      ok: true,
      manifest: newest.manifestKey,
      createdAt: '2026-11-22T03:00:00.000Z',
      files: 3,
      bytes: newest.bytes,
      archiveBytes: newest.archiveBytes,
      scratch: expect.stringContaining(join(tmpdir(), 'slipway-drill-')),
      recoverySeconds: expect.any(Number),
      maxRtoSeconds: 14400,
    });
    expect(result.recoverySeconds).toBeGreaterThan(0);
    expect(existsSync(result.scratch)).toBe(false);
  });

  it('given an empty --dir, when drilled, then it restores under it and leaves it empty', async () => {
    const dir = mkdtempSync(join(work, 'scratch-'));
    const run = await worker(['drill-volume', '--bucket', BUCKET, '--prefix', PREFIX, '--dir', dir]);
    expect(run.code).toBe(0);
    expect(resultOf(run.stdout)).toMatchObject({ ok: true, files: 3, scratch: expect.stringContaining(dir) });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('given a --dir that holds files, when drilled, then it refuses and touches nothing', async () => {
    const dir = mkdtempSync(join(work, 'live-'));
    writeFileSync(join(dir, 'keep.txt'), 'live data\n');
    const run = await worker(['drill-volume', '--bucket', BUCKET, '--prefix', PREFIX, '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`slipway-worker drill-volume: scratch directory ${dir} is not empty`);
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('given a recovery time objective the restore cannot meet, when drilled, then it fails with the time it took', async () => {
    const run = await worker(['drill-volume', '--bucket', BUCKET, '--prefix', PREFIX, '--max-rto', '0.001']);
    expect(run.code).toBe(1);
    const result = resultOf(run.stdout);
    expect(result).toMatchObject({ ok: false, manifest: newest.manifestKey, files: 3, maxRtoSeconds: 0.001 });
    expect(result.reason).toBe(
      `the restore took ${result.recoverySeconds} s, over the recovery time objective of 0.001 s`,
    );
    expect(run.stderr).toContain(`slipway-worker drill-volume: ${result.reason}`);
  });

  it('given the newest archive corrupted, when drilled, then it fails non-zero with the reason and leaves no scratch', async () => {
    // given
    const prefix = 'drills/corrupt-volume';
    const backup = await volumeBackup(prefix, '2026-11-22T03:00:00Z', 3);
    await corrupt(backup.archiveKey);
    const dir = mkdtempSync(join(work, 'scratch-'));

    // when
    const run = await worker(['drill-volume', '--bucket', BUCKET, '--prefix', prefix, '--dir', dir]);

    // then
    expect(run.code).toBe(1);
    const result = resultOf(run.stdout);
    expect(result).toMatchObject({ command: 'drill-volume', ok: false, manifest: backup.manifestKey });
    expect(run.stderr).toContain(`slipway-worker drill-volume: ${result.reason}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('given nothing under the prefix, when drilled, then it fails saying so', async () => {
    const run = await worker(['drill-volume', '--bucket', BUCKET, '--prefix', 'drills/nothing']);
    expect(run.code).toBe(1);
    expect(resultOf(run.stdout)).toEqual({
      command: 'drill-volume',
      ok: false,
      reason: `no complete volume backup under s3://${BUCKET}/drills/nothing/ to drill`,
    });
  });
});

describe('slipway-worker drill-postgres', () => {
  const PREFIX = 'drills/shop';
  let manifestKey: string;

  /** The test's own psql, independent of the module under test. */
  async function sql(dbname: string, query: string): Promise<string> {
    const { stdout } = await exec(join(cluster.binDir, 'psql'), ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query], {
      env: {
        PATH: process.env.PATH,
        PGHOST: cluster.connection.host,
        PGPORT: String(cluster.connection.port),
        PGUSER: cluster.connection.username,
        PGPASSWORD: PASSWORD,
        PGDATABASE: dbname,
      },
    });
    return stdout.trim();
  }
  const drillDatabases = () => sql('postgres', "select count(*) from pg_database where datname like 'slipway_drill_%'");
  const url = () => `postgres://${cluster.connection.username}:${PASSWORD}@127.0.0.1:${cluster.connection.port}/shop`;

  beforeAll(async () => {
    await sql('postgres', 'CREATE DATABASE shop');
    await sql(
      'shop',
      `create table customers (id serial primary key, name text not null);
       create table orders (id serial primary key, customer_id int references customers(id));
       insert into customers (name) select 'customer ' || i from generate_series(1, 50) i;`,
    );
    const dump = await backupPostgres({
      connection: { ...cluster.connection, dbname: 'shop' },
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      binDir: cluster.binDir,
      now: () => new Date('2026-11-22T03:00:00Z'),
    });
    manifestKey = dump.manifestKey;
  }, 60_000);

  it('given a dump under the prefix, when drilled against the server, then it is restored into a scratch database, checked, timed and dropped', async () => {
    // when
    const run = await worker(['drill-postgres', '--bucket', BUCKET, '--prefix', PREFIX, '--url', url()]);

    // then
    expect(run.stderr).not.toContain('slipway-worker drill-postgres');
    expect(run.code).toBe(0);
    const result = resultOf(run.stdout);
    expect(result).toEqual({
      command: 'drill-postgres',
      ok: true,
      manifest: manifestKey,
      createdAt: '2026-11-22T03:00:00.000Z',
      database: expect.stringMatching(/^slipway_drill_\d{8}t\d{6}z_[0-9a-f]{6}$/),
      bytes: expect.any(Number),
      // two tables and their two id sequences
      relations: 4,
      recoverySeconds: expect.any(Number),
    });
    expect(await drillDatabases()).toBe('0');
    // the database the URL names is the server's, not the drill's: it is left as it was
    expect(await sql('shop', 'select count(*) from customers')).toBe('50');
    expect(run.stdout).not.toContain(PASSWORD);
  });

  it('given SLIPWAY_PG_BIN_DIR and no PostgreSQL tools on PATH, when backup-postgres and restore-postgres run, then they use the tools there', async () => {
    // given: a PATH with no pg_dump or pg_restore on it, as on a host whose tools are only under the server's directory
    const empty = mkdtempSync(join(work, 'path-'));
    const prefix = 'dumps/shop-bin-dir';
    const withTools = (args: string[]) =>
      runWorker(args, {
        PATH: empty,
        AWS_ENDPOINT_URL: s3rver.endpoint,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        SLIPWAY_PG_BIN_DIR: cluster.binDir,
      });

    // when
    const backup = await withTools(['backup-postgres', '--url', url(), '--bucket', BUCKET, '--prefix', prefix]);
    const { manifestKey: dumped } = resultOf(backup.stdout);
    const restore = await withTools([
      'restore-postgres',
      '--url',
      url().replace(/\/shop$/, '/shop_from_bin_dir'),
      '--bucket',
      BUCKET,
      '--manifest',
      dumped,
    ]);

    // then
    expect(backup.stderr).not.toContain('slipway-worker');
    expect(backup.code).toBe(0);
    expect(restore.stderr).not.toContain('slipway-worker');
    expect(restore.code).toBe(0);
    expect(await sql('shop_from_bin_dir', 'select count(*) from customers')).toBe('50');
  });

  it('given the newest dump corrupted, when drilled, then it fails non-zero with the reason and leaves no scratch database', async () => {
    // given
    const prefix = 'drills/shop-corrupt';
    const dump = await backupPostgres({
      connection: { ...cluster.connection, dbname: 'shop' },
      s3,
      bucket: BUCKET,
      prefix,
      binDir: cluster.binDir,
      now: () => new Date('2026-11-22T03:00:00Z'),
    });
    await corrupt(dump.dumpKey);

    // when
    const run = await worker(['drill-postgres', '--bucket', BUCKET, '--prefix', prefix, '--url', url()]);

    // then
    expect(run.code).toBe(1);
    const result = resultOf(run.stdout);
    expect(result).toMatchObject({ command: 'drill-postgres', ok: false, manifest: dump.manifestKey });
    expect(result.reason).toMatch(new RegExp(`^dump ${dump.dumpKey}: SHA-256 is [0-9a-f]{12}…, the manifest says`));
    expect(run.stderr).toContain(`slipway-worker drill-postgres: ${result.reason}`);
    expect(await drillDatabases()).toBe('0');
  });

  it('given a server that refuses the restore, when drilled, then it fails non-zero and leaves no scratch database', async () => {
    // given: a user that may log in but not create databases
    await sql('postgres', "CREATE ROLE reader LOGIN PASSWORD 'reader-password'");
    const readerUrl = `postgres://reader:reader-password@127.0.0.1:${cluster.connection.port}/shop`;

    // when
    const run = await worker(['drill-postgres', '--bucket', BUCKET, '--prefix', PREFIX, '--url', readerUrl]);

    // then
    expect(run.code).toBe(1);
    expect(resultOf(run.stdout)).toMatchObject({ ok: false, manifest: manifestKey });
    expect(run.stderr).toMatch(/slipway-worker drill-postgres: .*permission denied to create database/);
    expect(await drillDatabases()).toBe('0');
  });
});
