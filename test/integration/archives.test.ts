import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeTasksCommand, ECSClient, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { makeHandler as makeCreateRestore } from '../../functions/http/create-restore';
import { makeHandler as makeListBackups } from '../../functions/http/list-backups';
import { makeHandler as makeTakeBackup } from '../../functions/http/take-backup';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createS3Client } from '../../lib/aws/clients/s3';
import { Archives } from '../../lib/backup/archives';
import type { ArchiveRecord, ArchiveRestoreRecord } from '../../lib/backup/records';
import { configSchema } from '../../lib/config/schema';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureBackupBucket } from '../../lib/local/provision';
import { type EmbeddedServer, startDynalite, startS3rver } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { runJob, type WorkerJobDeps } from '../../lib/worker/jobs';
import { type WorkerJob, workerLauncher } from '../../lib/worker/launch';
import { type PgConnection, postgresTools } from '../../lib/worker/postgres';
import { restoreVolume } from '../../lib/worker/volume';
import { auditOn } from '../support/audit';
import { captureEmf } from '../support/emf';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { psql, startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';
import { createStateTable, resourcesFragment } from '../support/resources';

/**
 * Volume archives and PostgreSQL dumps through the control plane: the HTTP routes and the
 * schedules queue a job, the launcher starts it (Lambda or ECS, mocked: they cannot run here),
 * and the worker runs it against real parts: dynalite, s3rver, directories and PostgreSQL.
 */

const BUCKET = 'slipway-test-archives';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';
const DUMP_SECRET = 'slipway/shop-db-dump';
const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/slipway-test-workers/0f1e2d3c4b5a69788796a5b4c3d2e1f0';

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  worker: {
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0',
    subnetIds: ['subnet-0a1b2c3d4e5f60718'],
    securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
  },
  databases: {
    'shop-db': {
      rdsInstance: 'shop-prod',
      dump: { credentialsSecret: DUMP_SECRET, retention: { daily: 2, weekly: 0, monthly: 0 } },
    },
  },
  volumes: {
    'shop-uploads': {
      fileSystemId: 'fs-0123456789abcdef0',
      accessPointId: 'fsap-0123456789abcdef0',
      retention: { daily: 2, weekly: 1, monthly: 0 },
      restoreDrill: { schedule: 'cron(30 7 ? * SUN *)' },
    },
    'search-index': {
      fileSystemId: 'fs-0fedcba9876543210',
      accessPointId: 'fsap-0fedcba9876543210',
      runner: 'ecs',
      sqlite: ['**/*.sqlite'],
    },
  },
});

let work: string;
let dynamodb: EmbeddedServer;
let s3Server: EmbeddedServer;
let s3: S3Client;
let documents: DynamoDBDocumentClient;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let postgres: ThrowawayPostgres;
let tableName: string;
let trail: ReturnType<typeof auditOn>;
let tables = 0;
let ids = 0;
let clock: Date;
let jobs: Array<{ job: WorkerJob; runner: string; volume?: string }>;
const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const sns = mockClient(SNSClient);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'slipway-archives-'));
  [dynamodb, s3Server, postgres] = await Promise.all([
    startDynalite(undefined),
    startS3rver(join(work, 's3')),
    startThrowawayPostgres(),
  ]);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  s3 = createS3Client({ AWS_ENDPOINT_URL_S3: s3Server.endpoint, AWS_REGION: 'us-east-1' });
  const bucket = resourcesFragment('resources/backup-bucket.yml').BackupBucket as CloudFormationResource;
  await ensureBackupBucket(s3, BUCKET, bucket, () => undefined);
  await sql('postgres', 'create database shop');
  await sql(
    'shop',
    `create table customers (id bigint primary key, name text not null, joined timestamptz, profile jsonb);
     insert into customers select g, 'customer ' || g, now() - g * interval '1 hour', jsonb_build_object('tier', g % 3)
       from generate_series(1, 2000) g;
     create table orders (id serial primary key, customer bigint references customers(id), total numeric(12, 2), note bytea);
     insert into orders (customer, total, note) select 1 + g % 2000, g * 1.25, decode(md5(g::text), 'hex')
       from generate_series(1, 5000) g;`,
  );
}, 120_000);

afterAll(async () => {
  ecs.restore();
  lambda.restore();
  sns.restore();
  s3?.destroy();
  await Promise.all([dynamodb?.close(), s3Server?.close(), postgres?.stop()]);
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  tables += 1;
  tableName = `slipway-archives-test-${tables}`;
  await createStateTable(dynamoClient, tableName);
  trail = auditOn(documents, tableName, () => clock);
  ecs.reset();
  lambda.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  lambda.on(InvokeCommand).callsFake((input) => {
    jobs.push({ job: JSON.parse(new TextDecoder().decode(input.Payload)), runner: 'lambda' });
    return { StatusCode: 202 };
  });
  ecs.on(RunTaskCommand).callsFake((input) => {
    const command = input.overrides.containerOverrides[0].command as string[];
    jobs.push({ job: JSON.parse(command[2] as string), runner: 'ecs' });
    return { tasks: [{ taskArn: TASK_ARN, lastStatus: 'PROVISIONING' }], failures: [] };
  });
  jobs = [];
  clock = new Date('2026-11-22T03:30:00.000Z');
});

// ---------------------------------------------------------------------------------------------
// Given

const sql = (dbname: string, query: string) => psql(postgres, dbname, query);

const nextId = (prefix: string) => () => {
  ids += 1;
  return `${prefix}-00000000-0000-4000-8000-${String(ids).padStart(12, '0')}`;
};

function archivesWith() {
  return new Archives({
    config,
    store: new BackupStore(documents, tableName),
    restores: new RestoreStore(documents, tableName),
    s3,
    bucket: BUCKET,
    launcher: workerLauncher({
      ecs: () => new ECSClient({ region: 'us-east-1' }),
      lambda: () => new LambdaClient({ region: 'us-east-1' }),
      service: 'slipway',
      stage: 'test',
      task: {
        cluster: 'slipway-test-workers',
        taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-test-worker:3',
        network: config.worker as NonNullable<typeof config.worker>,
      },
    }),
    ecs: new ECSClient({ region: 'us-east-1' }),
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    audit: trail.audit,
    now: () => clock,
    newBackupId: nextId('bkp'),
    newRestoreId: nextId('rst'),
  });
}

function workerDeps(volumeRoot: string, scratchRoot = join(work, 'scratch')): WorkerJobDeps {
  return {
    store: new BackupStore(documents, tableName),
    restores: new RestoreStore(documents, tableName),
    s3,
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    volumeRoot,
    scratchRoot,
    pgBinDir: postgres.binDir,
    postgres: postgresTools,
    connectionFor: async (secretId): Promise<PgConnection> => {
      if (secretId !== DUMP_SECRET) throw new Error(`unexpected secret ${secretId}`);
      return { ...postgres.connection, dbname: 'shop' };
    },
    now: () => clock,
  };
}

/** Runs what the launcher started, as the worker would. */
async function runQueued(deps: WorkerJobDeps) {
  const started = jobs.splice(0);
  const outcomes = [];
  for (const { job } of started) outcomes.push(await runJob(job, deps));
  return outcomes;
}

async function volumeTree(root: string) {
  const dir = join(root, 'shop-uploads');
  await mkdir(join(dir, 'avatars', 'empty'), { recursive: true });
  await writeFile(join(dir, 'avatars', 'ada.png'), Buffer.alloc(70_000, 7));
  await writeFile(join(dir, 'avatars', 'zéro.txt'), '');
  await writeFile(join(dir, 'readme.md'), '# uploads\n', { mode: 0o640 });
  await symlink('avatars/ada.png', join(dir, 'latest'));
  await utimes(join(dir, 'readme.md'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z'));
  return dir;
}

/** Every entry with its type, mode, size, content hash or link target: what a restore must reproduce. */
async function fingerprint(dir: string, prefix = ''): Promise<string[]> {
  const lines: string[] = [];
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const path = join(prefix, name);
    const stats = await lstat(join(dir, path));
    if (stats.isSymbolicLink()) lines.push(`${path} link ${await readlink(join(dir, path))}`);
    else if (stats.isDirectory()) {
      lines.push(`${path} dir ${(stats.mode & 0o7777).toString(8)}`);
      lines.push(...(await fingerprint(dir, path)));
    } else {
      const hash = createHash('sha256')
        .update(await readFile(join(dir, path)))
        .digest('hex');
      // Whole seconds: sub-second times pass through float conversions (volume.test.ts checks them closer).
      const mtime = new Date(Math.floor(stats.mtimeMs / 1000) * 1000).toISOString();
      lines.push(`${path} file ${(stats.mode & 0o7777).toString(8)} ${stats.size} ${hash} ${mtime}`);
    }
  }
  return lines;
}

const exists = async (key: string) =>
  s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    () => false,
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const terms = async (file: string) =>
  (
    await promisify(execFile)('sqlite3', ['-init', '/dev/null', '-batch', '-bail', file, 'SELECT term FROM terms'])
  ).stdout.trim();

const json = (response: APIGatewayProxyStructuredResultV2) => JSON.parse(String(response.body));

// ---------------------------------------------------------------------------------------------

describe('volume archives', () => {
  it('given a schedule, queues the archive, starts the volume function, and the worker stores it with its manifest', async () => {
    const root = await mkdtemp(join(work, 'volumes-'));
    const dir = await volumeTree(root);
    const archives = archivesWith();

    const queued = await archives.take({ volume: 'shop-uploads' }, 'schedule');
    expect(queued).toMatchObject({
      kind: 'volume-archive',
      volume: 'shop-uploads',
      status: 'QUEUED',
      runner: 'lambda',
    });
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: 'slipway-test-volume-shop-uploads',
      InvocationType: 'Event',
    });
    expect(jobs).toEqual([{ job: { type: 'backup', backupId: queued.id }, runner: 'lambda' }]);
    const job = jobs[0]?.job as WorkerJob;

    const [outcome] = await runQueued(workerDeps(root));
    expect(outcome).toEqual({ id: queued.id, status: 'AVAILABLE' });
    const record = (await new BackupStore(documents, tableName).get(queued.id)) as ArchiveRecord;
    expect(record).toMatchObject({
      status: 'AVAILABLE',
      files: 3,
      consistent: true,
      compression: 'gzip',
      archiveKey: expect.stringMatching(new RegExp(`^volumes/shop-uploads/${queued.id}/.+\\.tar\\.gz$`)),
      manifestKey: expect.stringMatching(/^volumes\/shop-uploads\/.+\.manifest\.ndjson$/),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await exists(record.archiveKey as string)).toBe(true);
    expect(await exists(record.manifestKey as string)).toBe(true);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      MessageAttributes: expect.objectContaining({ state: { DataType: 'String', StringValue: 'AVAILABLE' } }),
    });

    // When the same job is delivered again, it finds the record claimed and does nothing.
    expect(await runJob(job, workerDeps(root))).toEqual({
      id: queued.id,
      status: 'AVAILABLE',
      reason: 'already claimed by another run',
    });
    expect(await fingerprint(dir)).toHaveLength(6);
  });

  it('skips a scheduled archive while the previous one still runs, and says which', async () => {
    const archives = archivesWith();
    const first = await archives.take({ volume: 'shop-uploads' }, 'schedule');
    const second = await archives.take({ volume: 'shop-uploads' }, 'schedule');
    expect(second).toMatchObject({ status: 'SKIPPED', reason: `${first.id} of volume shop-uploads is still starting` });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
  });

  /** shop-uploads built under a new root and archived by the worker, and an admin's POST /v1/restores. */
  async function archivedUploads() {
    const root = await mkdtemp(join(work, 'volumes-'));
    const dir = await volumeTree(root);
    const archives = archivesWith();
    await archives.take({ volume: 'shop-uploads' }, 'schedule');
    await runQueued(workerDeps(root));
    const tokens = memoryTokenSource();
    const handler = makeCreateRestore({
      tokens: tokens.source,
      audit: trail.audit,
      archives,
      restores: { request: () => Promise.reject(new Error('not an RDS restore')) },
      now: () => clock,
    });
    const post = (body: unknown) =>
      handler(
        httpEvent('not-found', {
          method: 'POST',
          path: '/v1/restores',
          routeKey: 'POST /v1/restores',
          token: tokens.tokens.admin,
          body,
        }),
        lambdaContext(),
      ) as Promise<APIGatewayProxyStructuredResultV2>;
    return { root, dir, post };
  }

  it('restores over HTTP beside the original, byte-identical, and refuses a non-empty target without force', async () => {
    const { root, dir, post } = await archivedUploads();

    const accepted = await post({ kind: 'volume', volume: 'shop-uploads' });
    expect([accepted.statusCode, json(accepted).error]).toEqual([202, undefined]);
    const restore = json(accepted).restore as ArchiveRestoreRecord;
    expect(restore).toMatchObject({ status: 'QUEUED', target: { path: 'restored-20261122T033000Z' }, force: false });
    expect(await runQueued(workerDeps(root))).toEqual([{ id: restore.id, status: 'AVAILABLE' }]);
    expect(await fingerprint(join(root, 'shop-uploads', 'restored-20261122T033000Z'))).toEqual(
      (await fingerprint(dir)).filter((line) => !line.startsWith('restored-')),
    );

    // Given a target that holds files, when restored without force, then it fails and the files stay.
    await mkdir(join(dir, 'keep'));
    await writeFile(join(dir, 'keep', 'mine.txt'), 'mine');
    const refused = json(await post({ kind: 'volume', volume: 'shop-uploads', targetPath: 'keep' })).restore;
    const [outcome] = await runQueued(workerDeps(root));
    expect(outcome).toMatchObject({
      id: refused.id,
      status: 'FAILED',
      reason: expect.stringContaining('is not empty'),
    });
    expect(await readdir(join(dir, 'keep'))).toEqual(['mine.txt']);

    // A path that climbs out of the volume never reaches the worker.
    const climbing = await post({ kind: 'volume', volume: 'shop-uploads', targetPath: '../elsewhere' });
    expect(climbing.statusCode).toBe(400);
    expect(json(climbing).error.details[0]).toMatchObject({ field: 'targetPath' });
  });

  it('fails a restore whose target path crosses a link into another volume, naming the component, and leaves that volume alone', async () => {
    // Given shop-uploads archived, and a link planted in it to the sibling volume search-index
    const { root, dir, post } = await archivedUploads();
    const sibling = join(root, 'search-index');
    await mkdir(join(sibling, 'data'), { recursive: true });
    await writeFile(join(sibling, 'data', 'index.bin'), 'the other volume');
    await symlink('../search-index', join(dir, 'uploads'));
    const before = await fingerprint(sibling);

    // When an admin restores shop-uploads to uploads/data with force
    const accepted = await post({ kind: 'volume', volume: 'shop-uploads', targetPath: 'uploads/data', force: true });
    const restore = json(accepted).restore as ArchiveRestoreRecord;
    const outcomes = await runQueued(workerDeps(root));

    // Then the worker refuses it naming the component, the record says why, and search-index is as it was
    expect(outcomes).toEqual([
      { id: restore.id, status: 'FAILED', reason: 'targetPath: component "uploads" is a symbolic link' },
    ]);
    expect(await new RestoreStore(documents, tableName).get(restore.id)).toMatchObject({
      status: 'FAILED',
      reason: 'targetPath: component "uploads" is a symbolic link',
    });
    expect(await fingerprint(sibling)).toEqual(before);
  });

  it('drills into the worker’s own disk: verified, timed, then removed', async () => {
    const root = await mkdtemp(join(work, 'volumes-'));
    await volumeTree(root);
    const scratch = await mkdtemp(join(work, 'scratch-'));
    const archives = archivesWith();
    await archives.take({ volume: 'shop-uploads' }, 'schedule');
    await runQueued(workerDeps(root, scratch));
    clock = new Date('2026-11-22T07:30:00.000Z');

    const drill = await archives.drill({ volume: 'shop-uploads' });
    expect(drill).toMatchObject({ drill: true, target: { scratch: true }, requestedBy: 'drill' });
    clock = new Date('2026-11-22T07:30:09.000Z');
    await runQueued(workerDeps(root, scratch));
    const record = (await new RestoreStore(documents, tableName).get(drill.id)) as ArchiveRestoreRecord;
    expect(record).toMatchObject({ status: 'AVAILABLE', files: 3, durationSeconds: 9, deletedAt: expect.any(String) });
    expect(await readdir(scratch)).toEqual([]);
    expect(await readdir(join(root, 'shop-uploads'))).not.toContain('restored');
    // And the audit trail has the scheduled archive and the drill, each as Slipway's own action
    expect(
      (await trail.entries()).map(({ actor, action, target, outcome }) => ({ actor, action, target, outcome })),
    ).toEqual([
      {
        actor: 'schedule',
        action: 'backup.take',
        target: { volume: 'shop-uploads', backupId: expect.any(String), kind: 'volume-archive' },
        outcome: { result: 'succeeded', code: 'QUEUED' },
      },
      {
        actor: 'drill',
        action: 'restore.drill',
        target: { volume: 'shop-uploads', restoreId: drill.id, backupId: drill.backupId },
        outcome: { result: 'succeeded', code: 'QUEUED' },
      },
    ]);

    // Then the reconciler reports how long ago the last drill passed, and the newest archive's age.
    clock = new Date('2026-11-22T08:00:09.000Z');
    const ages = (await captureEmf(() => archives.reconcile())).filter((line) => line.Volume === 'shop-uploads');
    expect(ages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NewestDrillAgeMinutes: 30 }),
        expect.objectContaining({ NewestBackupAgeMinutes: 270 }),
      ]),
    );
  });

  it('keeps what retention says, deletes the rest from S3, and previews it over HTTP first', async () => {
    const root = await mkdtemp(join(work, 'volumes-'));
    await volumeTree(root);
    const archives = archivesWith();
    const taken: ArchiveRecord[] = [];
    for (const day of ['14', '18', '19', '20', '21']) {
      clock = new Date(`2026-11-${day}T03:30:00.000Z`);
      const queued = await archives.take({ volume: 'shop-uploads' }, 'schedule');
      await runQueued(workerDeps(root));
      taken.push((await new BackupStore(documents, tableName).get(queued.id)) as ArchiveRecord);
    }
    clock = new Date('2026-11-21T12:00:00.000Z');
    const viewer = memoryTokenSource();
    const preview = await makeListBackups({
      tokens: viewer.source,
      backups: {
        retentionPreview: () => Promise.reject(new Error('RDS')),
        database: () => config.databases['shop-db'] as never,
      },
      archives,
      store: new BackupStore(documents, tableName),
      databases: ['shop-db'],
      volumes: ['shop-uploads', 'search-index'],
    })(
      httpEvent('not-found', {
        method: 'GET',
        path: '/v1/backups',
        routeKey: 'GET /v1/backups',
        token: viewer.tokens.viewer,
        query: { volume: 'shop-uploads', retention: 'preview' },
      }),
      lambdaContext(),
    );
    // daily 2 keeps the 21st and the 20th; weekly 1 keeps the newest of ISO week 47 (the 21st) too.
    expect(json(preview as APIGatewayProxyStructuredResultV2).delete.map((entry: { id: string }) => entry.id)).toEqual(
      [taken[2], taken[1], taken[0]].map((record) => record?.id),
    );

    await archives.reconcile();
    for (const record of taken.slice(0, 3)) {
      expect((await new BackupStore(documents, tableName).get(record.id))?.status).toBe('DELETED');
      expect(await exists(record.archiveKey as string)).toBe(false);
      expect(await exists(record.manifestKey as string)).toBe(false);
    }
    for (const record of taken.slice(3)) expect(await exists(record.manifestKey as string)).toBe(true);
    // And each deletion is in the audit trail, by retention
    const deletions = (await trail.entries()).filter((entry) => entry.action === 'backup.delete');
    // (at one instant of the test's clock, in no particular order)
    expect(deletions.map((entry) => [entry.actor, entry.target.backupId, entry.outcome.result]).sort()).toEqual(
      taken.slice(0, 3).map((record) => ['retention', record.id, 'succeeded']),
    );
  });
});

describe('the worker task', () => {
  it('starts with RunTask on the worker task definition, and a task that died is recorded FAILED with why', async () => {
    const archives = archivesWith();
    const queued = await archives.take({ volume: 'search-index' }, 'api:ops');
    expect(ecs).toHaveReceivedCommandWith(RunTaskCommand, {
      cluster: 'slipway-test-workers',
      taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-test-worker:3',
      launchType: 'FARGATE',
      count: 1,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-0a1b2c3d4e5f60718'],
          securityGroups: ['sg-0a1b2c3d4e5f60718'],
          assignPublicIp: 'DISABLED',
        },
      },
      overrides: {
        containerOverrides: [
          { name: 'worker', command: ['run-job', '--job', JSON.stringify({ type: 'backup', backupId: queued.id })] },
        ],
      },
      startedBy: 'slipway',
      tags: [{ key: 'slipway:job', value: queued.id }],
      propagateTags: 'TASK_DEFINITION',
    });
    expect((await new BackupStore(documents, tableName).get(queued.id)) as ArchiveRecord).toMatchObject({
      status: 'QUEUED',
      taskArn: TASK_ARN,
    });

    // Given the task was killed for memory before it recorded anything.
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: TASK_ARN,
          lastStatus: 'STOPPED',
          stoppedReason: 'OutOfMemoryError: Container killed due to memory usage',
          containers: [{ name: 'worker', exitCode: 137 }],
        },
      ],
      failures: [],
    });
    expect(await archives.reconcile()).toContainEqual({ id: queued.id, outcome: 'FAILED' });
    expect(ecs).toHaveReceivedCommandWith(DescribeTasksCommand, { cluster: 'slipway-test-workers', tasks: [TASK_ARN] });
    expect(await new BackupStore(documents, tableName).get(queued.id)).toMatchObject({
      status: 'FAILED',
      reason:
        'the worker task stopped without recording an outcome: OutOfMemoryError: Container killed due to memory usage, exit code 137',
    });
  });

  it('takes the SQLite databases the volume’s sqlite globs name through SQLite, and the restore checks them', async () => {
    // Given a volume on the worker task holding a SQLite database in WAL mode, open, with its -wal beside it
    const root = await mkdtemp(join(work, 'volumes-'));
    const dir = join(root, 'search-index');
    await mkdir(join(dir, 'index'), { recursive: true });
    await writeFile(join(dir, 'index', 'terms.txt'), 'plain\n');
    const database = join(dir, 'index', 'search.sqlite');
    const open = spawn('sqlite3', ['-init', '/dev/null', '-batch', database], { stdio: ['pipe', 'ignore', 'ignore'] });
    open.stdin.write(
      "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE terms(term TEXT PRIMARY KEY); INSERT INTO terms VALUES ('slipway');\n",
    );
    try {
      while ((await terms(database).catch(() => '')) !== 'slipway') await sleep(10);
      expect(await readdir(join(dir, 'index'))).toContain('search.sqlite-wal');

      // When it is archived through the control plane and the job runs
      const queued = await archivesWith().take({ volume: 'search-index' }, 'schedule');
      const [outcome] = await runQueued(workerDeps(root));

      // Then the record carried the globs to the worker, and the database went in as SQLite, its -wal left out
      expect(outcome).toEqual({ id: queued.id, status: 'AVAILABLE' });
      const record = (await new BackupStore(documents, tableName).get(queued.id)) as ArchiveRecord;
      expect(record).toMatchObject({
        runner: 'ecs',
        sqlite: [{ glob: '**/*.sqlite', source: expect.any(String) }],
        sqliteDatabases: 1,
        files: 2,
      });
      const restoreTarget = join(await mkdtemp(join(work, 'restored-')), 'search-index');
      const restored = await restoreVolume({
        s3,
        bucket: BUCKET,
        manifestKey: record.manifestKey as string,
        target: restoreTarget,
      });
      expect(restored).toMatchObject({ files: 2, sqliteDatabases: 1 });
      expect(await readdir(join(restoreTarget, 'index'))).toEqual(['search.sqlite', 'terms.txt']);
      expect(await terms(join(restoreTarget, 'index', 'search.sqlite'))).toBe('slipway');
    } finally {
      open.stdin.end();
      await new Promise((resolve) => open.once('exit', resolve));
    }
  });

  it('records FAILED with ECS’s reason when the task cannot start, and a job that never started after the limit', async () => {
    ecs.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [
        {
          arn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/x',
          reason: 'RESOURCE:ENI',
          detail: 'no free IP',
        },
      ],
    });
    const archives = archivesWith();
    const refused = await archives.take({ volume: 'search-index' }, 'schedule');
    expect(refused).toMatchObject({
      status: 'FAILED',
      reason: 'could not start the worker: ECS did not start the worker task (RESOURCE:ENI: no free IP)',
    });

    const lost = await archives.take({ volume: 'shop-uploads' }, 'schedule');
    clock = new Date(clock.getTime() + 17 * 60_000);
    expect(await archives.reconcile()).toContainEqual({ id: lost.id, outcome: 'FAILED' });
    expect(await new BackupStore(documents, tableName).get(lost.id)).toMatchObject({
      reason: 'no outcome after 16 minutes (the worker never started)',
    });
  });
});

describe('jobs past their limit', () => {
  const runningTask = {
    tasks: [{ taskArn: TASK_ARN, lastStatus: 'RUNNING', containers: [{ name: 'worker' }] }],
    failures: [],
  };

  /** An archive on the worker task that its worker claimed, then `minutes` later. */
  async function claimedTaskJob(minutes: number) {
    const archives = archivesWith();
    const queued = await archives.take({ volume: 'search-index' }, 'schedule');
    await new BackupStore(documents, tableName).update<ArchiveRecord>(queued.id, ['QUEUED'], { status: 'CREATING' });
    clock = new Date(clock.getTime() + minutes * 60_000);
    return { archives, queued };
  }

  it('given a task still running past worker.timeoutMinutes, when reconciled, then ECS is asked to stop it, naming the job and the limit, and the record says so', async () => {
    // given: the default limit, 360 minutes, and a task ECS still runs
    const { archives, queued } = await claimedTaskJob(361);
    ecs.on(DescribeTasksCommand).resolves(runningTask);
    ecs.on(StopTaskCommand).resolves({ task: { taskArn: TASK_ARN, lastStatus: 'RUNNING', desiredStatus: 'STOPPED' } });

    // when
    const outcomes = await archives.reconcile();

    // then
    expect(outcomes).toContainEqual({ id: queued.id, outcome: 'FAILED' });
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 1);
    expect(ecs).toHaveReceivedCommandWith(StopTaskCommand, {
      cluster: 'slipway-test-workers',
      task: TASK_ARN,
      reason: `Slipway: ${queued.id}: no outcome after 360 minutes (worker.timeoutMinutes)`,
    });
    expect(await new BackupStore(documents, tableName).get(queued.id)).toMatchObject({
      status: 'FAILED',
      reason: 'no outcome after 360 minutes (worker.timeoutMinutes); the worker task was stopped',
    });
  });

  it.each([
    [
      'a task ECS forgot between the two calls',
      Object.assign(new Error('The referenced task was not found.'), { name: 'InvalidParameterException' }),
      'the worker task had already ended',
    ],
    [
      'StopTask refused',
      Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }),
      'the worker task could not be stopped (AccessDeniedException) and may still be running',
    ],
  ])(
    'given %s, when reconciled, then the record is FAILED all the same, saying what became of the task',
    async (_, refusal, became) => {
      // given
      const { archives, queued } = await claimedTaskJob(361);
      ecs.on(DescribeTasksCommand).resolves(runningTask);
      ecs.on(StopTaskCommand).rejects(refusal);

      // when
      await archives.reconcile();

      // then
      expect(await new BackupStore(documents, tableName).get(queued.id)).toMatchObject({
        status: 'FAILED',
        reason: `no outcome after 360 minutes (worker.timeoutMinutes); ${became}`,
      });
    },
  );

  it('given a task that already stopped, when reconciled, then it is not stopped again', async () => {
    // given
    const { archives, queued } = await claimedTaskJob(361);
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: TASK_ARN,
          lastStatus: 'STOPPED',
          stoppedReason: 'Essential container in task exited',
          containers: [{ name: 'worker', exitCode: 1 }],
        },
      ],
      failures: [],
    });

    // when
    await archives.reconcile();

    // then
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 0);
    expect(await new BackupStore(documents, tableName).get(queued.id)).toMatchObject({
      status: 'FAILED',
      reason: 'the worker task stopped without recording an outcome: Essential container in task exited, exit code 1',
    });
  });

  it('given a task within its limit, when reconciled, then it is left running', async () => {
    // given
    const { archives, queued } = await claimedTaskJob(359);
    ecs.on(DescribeTasksCommand).resolves(runningTask);

    // when
    const outcomes = await archives.reconcile();

    // then
    expect(outcomes).toContainEqual({ id: queued.id, outcome: 'still CREATING' });
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 0);
  });

  it('given a volume function’s job with no outcome after 16 minutes, when reconciled, then the record says Lambda’s timeout ended it, and nothing is stopped', async () => {
    // given: the function claimed the job; Lambda ends a function at its 15-minute timeout
    const archives = archivesWith();
    const queued = await archives.take({ volume: 'shop-uploads' }, 'schedule');
    await new BackupStore(documents, tableName).update<ArchiveRecord>(queued.id, ['QUEUED'], { status: 'CREATING' });
    clock = new Date(clock.getTime() + 17 * 60_000);

    // when
    expect(await archives.reconcile()).toContainEqual({ id: queued.id, outcome: 'FAILED' });

    // then
    expect(ecs).toHaveReceivedCommandTimes(StopTaskCommand, 0);
    expect(await new BackupStore(documents, tableName).get(queued.id)).toMatchObject({
      status: 'FAILED',
      reason: 'no outcome after 16 minutes: Lambda ended the volume function at its 15-minute timeout',
    });
  });
});

describe('PostgreSQL dumps', () => {
  it('dumps over HTTP through the worker task, restores into a new database over HTTP, and drills into a scratch one it drops', async () => {
    const archives = archivesWith();
    const tokens = memoryTokenSource();
    const take = makeTakeBackup({
      tokens: tokens.source,
      audit: trail.audit,
      backups: { take: () => Promise.reject(new Error('not a snapshot')) },
      archives,
    });
    const taken = (await take(
      httpEvent('not-found', {
        method: 'POST',
        path: '/v1/backups',
        routeKey: 'POST /v1/backups',
        token: tokens.tokens.deployer,
        body: { database: 'shop-db', kind: 'postgres-dump' },
      }),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(taken.statusCode).toBe(202);
    expect(jobs.map((entry) => entry.runner)).toEqual(['ecs']);
    const [dumped] = await runQueued(workerDeps(work));
    expect(dumped).toMatchObject({ status: 'AVAILABLE' });
    const dump = (await new BackupStore(documents, tableName).get(json(taken).backup.id)) as ArchiveRecord;
    expect(dump).toMatchObject({
      kind: 'postgres-dump',
      database: 'shop-db',
      credentialsSecret: DUMP_SECRET,
      archiveKey: expect.stringMatching(/^dumps\/shop-db\/.+\.dump$/),
      serverVersion: expect.any(String),
    });

    const restore = await archives.restore({
      subject: { database: 'shop-db' },
      target: { database: 'shop_restored' },
      force: false,
      requestedBy: 'ops',
    });
    expect(restore).toMatchObject({ backupId: dump.id, status: 'QUEUED' });
    expect(await runQueued(workerDeps(work))).toEqual([{ id: restore.id, status: 'AVAILABLE' }]);
    const counts = "select (select count(*) from customers) || '/' || (select count(*) from orders)";
    expect(await sql('shop_restored', counts)).toBe(await sql('shop', counts));
    const checksum = "select md5(string_agg(o::text, ',' order by id)) from orders o";
    expect(await sql('shop_restored', checksum)).toBe(await sql('shop', checksum));

    // The source itself is refused unless forced: the worker compares the manifest's origin.
    const over = await archives.restore({
      subject: { database: 'shop-db' },
      target: { database: 'shop' },
      force: false,
      requestedBy: 'ops',
    });
    const [refused] = await runQueued(workerDeps(work));
    expect(refused).toMatchObject({ id: over.id, status: 'FAILED', reason: expect.stringContaining('force') });

    const drill = await archives.drill({ database: 'shop-db' });
    expect(drill.target).toEqual({ database: 'slipway_drill_202611220330' });
    expect(await runQueued(workerDeps(work))).toEqual([{ id: drill.id, status: 'AVAILABLE' }]);
    expect(await sql('postgres', "select count(*) from pg_database where datname like 'slipway_drill_%'")).toBe('0');
    expect(await new RestoreStore(documents, tableName).get(drill.id)).toMatchObject({
      status: 'AVAILABLE',
      deletedAt: expect.any(String),
    });
  }, 60_000);

  it('refuses what cannot be restored before queueing anything', async () => {
    const archives = archivesWith();
    await expect(
      archives.restore({
        subject: { database: 'shop-db' },
        target: { database: 'x' },
        force: false,
        requestedBy: 'ops',
      }),
    ).rejects.toThrow('database shop-db has no available postgres-dump to restore');
    await expect(archives.take({ volume: 'nope' }, 'api:ops')).rejects.toThrow('no volume named nope');
    expect(jobs).toEqual([]);
  });
});
