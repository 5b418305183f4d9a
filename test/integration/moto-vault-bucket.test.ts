import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createS3Client } from '../../lib/aws/clients/s3';
import { applyArchiveRetention } from '../../lib/backup/archive-settlement';
import { archivesContext } from '../../lib/backup/archives-context';
import type { ArchiveRecord, ArchiveRestoreRecord } from '../../lib/backup/records';
import { archiveDestination } from '../../lib/backup/vault-bucket';
import { configSchema } from '../../lib/config/schema';
import type { Publisher } from '../../lib/notify/publisher';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { runJob, type WorkerJobDeps } from '../../lib/worker/jobs';
import { auditOn } from '../support/audit';
import { motoEndpoint, resetMoto } from '../support/moto';
import { sessionOn } from '../support/moto-aws';
import { createStateTable } from '../support/resources';

/**
 * The vault bucket (backups.vaultBucket) on moto, which keeps a backend per account and implements S3 Object Lock:
 * the control plane in 111111111111/us-east-1, the vault bucket in 444444444444/eu-west-1 with a COMPLIANCE default
 * retention, as the vault account's member template makes it. The worker's volume archive and manifest land there,
 * each version locked; a DeleteObject of a locked version is refused by the store itself (Amazon S3 User Guide,
 * "Locking objects with Object Lock": a locked version cannot be deleted); the restore reads it back byte for byte;
 * and retention lets the older archive go without deleting anything there.
 */

const CONTROL_PLANE = '111111111111';
const VAULT = '444444444444';
const VAULT_REGION = 'eu-west-1';
const WORKER_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-worker-task-us-east-1`;
const VAULT_OPERATOR_ROLE = `arn:aws:iam::${VAULT}:role/slipway-member`;
const VAULT_BUCKET = 'slipway-prod-vault';
const TABLE = 'slipway-vault-state';
const DAY_MS = 86_400_000;

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: { vault: { roleArn: VAULT_OPERATOR_ROLE, regions: [VAULT_REGION] } },
  backups: { vaultBucket: { name: VAULT_BUCKET, account: 'vault', region: VAULT_REGION, lockDays: 1, expireDays: 30 } },
  volumes: {
    'shop-uploads': {
      fileSystemId: 'fs-0123456789abcdef0',
      accessPointId: 'fsap-0123456789abcdef0',
      retention: { daily: 1, weekly: 0, monthly: 0 },
    },
  },
  worker: {
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0',
    subnetIds: ['subnet-0a1b2c3d4e5f60718'],
    securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
  },
});

let env: Record<string, string>;
let work: string;
let worker: AwsCredentialIdentity;
let vaultS3: S3Client;
let store: BackupStore;
let restores: RestoreStore;
let documents: DynamoDBDocumentClient;
let deps: WorkerJobDeps;
const silent: Publisher = { publish: async () => true };

/** A queued archive of shop-uploads, placed as the control plane places one (lib/backup/vault.ts). */
async function queuedArchive(createdAt: Date): Promise<ArchiveRecord> {
  const id = `bkp-${randomUUID()}`;
  const record: ArchiveRecord = {
    id,
    kind: 'volume-archive',
    volume: 'shop-uploads',
    status: 'QUEUED',
    trigger: 'schedule',
    runner: 'lambda',
    ...archiveDestination(config, 'slipway-prod-backups'),
    prefix: `volumes/shop-uploads/${id}`,
    createdAt: createdAt.toISOString(),
    updatedAt: createdAt.toISOString(),
  };
  await store.create(record);
  return record;
}

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' };
  work = await mkdtemp(join(tmpdir(), 'slipway-vault-'));
  worker = await sessionOn(env, WORKER_ROLE, 'slipway-worker');

  // Given the vault bucket in 444444444444/eu-west-1, made as its member template makes it: Object Lock, COMPLIANCE by default
  const operator = await sessionOn(env, VAULT_OPERATOR_ROLE, 'vault-operator', worker);
  vaultS3 = createS3Client({ ...env, AWS_REGION: VAULT_REGION }, operator);
  await vaultS3.send(
    new CreateBucketCommand({
      Bucket: VAULT_BUCKET,
      ObjectLockEnabledForBucket: true,
      ObjectOwnership: 'BucketOwnerEnforced',
      CreateBucketConfiguration: { LocationConstraint: VAULT_REGION },
    }),
  );
  await vaultS3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: VAULT_BUCKET,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
      },
    }),
  );

  // And the control plane's state table, and the worker with its own credentials in its own account
  const dynamo = createDynamoDbClient(env, worker);
  await createStateTable(dynamo, TABLE);
  documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  store = new BackupStore(documents, TABLE);
  restores = new RestoreStore(documents, TABLE);
  const volumeRoot = join(work, 'mnt');
  await mkdir(join(volumeRoot, 'shop-uploads', 'images'), { recursive: true });
  await writeFile(join(volumeRoot, 'shop-uploads', 'images', 'logo.png'), Buffer.alloc(70_000, 7));
  await writeFile(join(volumeRoot, 'shop-uploads', 'orders.csv'), 'id,total\n1,12.50\n2,99.00\n');
  deps = {
    store,
    restores,
    s3: createS3Client(env, worker),
    s3In: (region) => createS3Client({ ...env, AWS_REGION: region }, worker),
    publisher: silent,
    volumeRoot,
    connectionFor: () => Promise.reject(new Error('no database here')),
  };
}, 120_000);

afterAll(async () => {
  vaultS3?.destroy();
  await rm(work, { recursive: true, force: true });
});

describe('the vault bucket on moto', () => {
  let archive: ArchiveRecord;

  it('given an archive placed in the vault, when the worker runs it, then archive and manifest are there, each version locked in COMPLIANCE mode', async () => {
    // given
    const queued = await queuedArchive(new Date(Date.now() - DAY_MS));
    expect(queued).toMatchObject({ bucket: VAULT_BUCKET, vault: { accountId: VAULT, region: VAULT_REGION } });

    // when
    const outcome = await runJob({ type: 'backup', backupId: queued.id }, deps);

    // then
    expect(outcome).toEqual({ id: queued.id, status: 'AVAILABLE' });
    archive = (await store.get(queued.id)) as ArchiveRecord;
    const { Versions } = await vaultS3.send(new ListObjectVersionsCommand({ Bucket: VAULT_BUCKET }));
    expect((Versions ?? []).map(({ Key }) => Key).sort()).toEqual([archive.archiveKey, archive.manifestKey].sort());
    for (const version of Versions ?? []) {
      // HeadObject's x-amz-object-lock-* headers: moto's GetObjectRetention answer is not XML the SDK parses.
      const head = await vaultS3.send(
        new HeadObjectCommand({ Bucket: VAULT_BUCKET, Key: version.Key, VersionId: version.VersionId }),
      );
      expect(head.ObjectLockMode).toBe('COMPLIANCE');
      expect(head.ObjectLockRetainUntilDate?.getTime()).toBeGreaterThan(Date.now());
    }
  });

  it('given a locked version, when anyone deletes it, even the vault account, then the store refuses and the version stays', async () => {
    // given
    const { Versions } = await vaultS3.send(
      new ListObjectVersionsCommand({ Bucket: VAULT_BUCKET, Prefix: archive.archiveKey }),
    );
    const version = Versions?.[0];

    // when
    const asWorker = deps.s3In?.(VAULT_REGION) as S3Client;
    const attempts = await Promise.allSettled(
      [asWorker, vaultS3].map((client) =>
        client.send(
          new DeleteObjectCommand({ Bucket: VAULT_BUCKET, Key: version?.Key, VersionId: version?.VersionId }),
        ),
      ),
    );

    // then
    expect(attempts.map((attempt) => attempt.status)).toEqual(['rejected', 'rejected']);
    for (const attempt of attempts) expect((attempt as PromiseRejectedResult).reason.name).toBe('AccessDenied');
    const after = await vaultS3.send(
      new ListObjectVersionsCommand({ Bucket: VAULT_BUCKET, Prefix: archive.archiveKey }),
    );
    expect(after.Versions?.map(({ VersionId }) => VersionId)).toEqual([version?.VersionId]);
  });

  it('given a put without a checksum, when sent to the locked bucket, then it is refused: the worker’s checksum is what lets it write', async () => {
    // given: the loopback client computes no checksum unless asked (lib/aws/client-config.ts)
    const asWorker = deps.s3In?.(VAULT_REGION) as S3Client;

    // when
    const put = asWorker.send(new PutObjectCommand({ Bucket: VAULT_BUCKET, Key: 'volumes/plain.txt', Body: 'plain' }));

    // then
    await expect(put).rejects.toMatchObject({ name: 'MissingUploadObjectWithObjectLockHeaders' });
  });

  it('given the archive in the vault, when restored, then the worker reads it back byte for byte', async () => {
    // given
    const at = new Date().toISOString();
    const restore: ArchiveRestoreRecord = {
      id: `rst-${randomUUID()}`,
      kind: 'volume',
      volume: 'shop-uploads',
      backupId: archive.id,
      target: { path: 'restored' },
      force: false,
      runner: 'lambda',
      status: 'QUEUED',
      requestedBy: 'api:operator',
      drill: false,
      createdAt: at,
      updatedAt: at,
    };
    await restores.create(restore);

    // when
    const outcome = await runJob({ type: 'restore', restoreId: restore.id }, deps);

    // then
    expect(outcome).toEqual({ id: restore.id, status: 'AVAILABLE' });
    const restored = join(deps.volumeRoot, 'shop-uploads', 'restored');
    expect(await readFile(join(restored, 'images', 'logo.png'))).toEqual(Buffer.alloc(70_000, 7));
    expect(await readFile(join(restored, 'orders.csv'), 'utf8')).toBe('id,total\n1,12.50\n2,99.00\n');
  });

  it('given a newer archive, when retention lets the older go, then its record is DELETED and its objects stay in the vault', async () => {
    // given
    await rm(join(deps.volumeRoot, 'shop-uploads', 'restored'), { recursive: true, force: true });
    const newer = await queuedArchive(new Date());
    expect(await runJob({ type: 'backup', backupId: newer.id }, deps)).toEqual({ id: newer.id, status: 'AVAILABLE' });
    const ctx = archivesContext({
      config,
      store,
      restores,
      s3: deps.s3In?.(VAULT_REGION) as S3Client,
      ecs: createEcsClient(env, worker),
      publisher: silent,
      audit: auditOn(documents, TABLE).audit,
    });

    // when
    const decision = await applyArchiveRetention(ctx, { volume: 'shop-uploads' });

    // then
    expect(decision.delete.map(({ snapshot }) => snapshot.id)).toEqual([archive.id]);
    expect(await store.get(archive.id)).toMatchObject({ status: 'DELETED' });
    const { Versions, DeleteMarkers } = await vaultS3.send(
      new ListObjectVersionsCommand({ Bucket: VAULT_BUCKET, Prefix: archive.prefix }),
    );
    expect((Versions ?? []).map(({ Key }) => Key).sort()).toEqual([archive.archiveKey, archive.manifestKey].sort());
    expect(DeleteMarkers ?? []).toEqual([]);
  });
});
