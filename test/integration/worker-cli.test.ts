import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createDynamoDbClient, documentClient } from '../../lib/aws/clients/dynamodb';
import { createS3Client } from '../../lib/aws/clients/s3';
import type { ArchiveRecord } from '../../lib/backup/records';
import { type EmbeddedServer, startDynalite, startS3rver } from '../../lib/local/servers';
import { BackupStore } from '../../lib/store/backups';
import { serverBinDir } from '../support/postgres';
import { createStateTable } from '../support/resources';
import { runWorker } from '../support/worker';

let s3rver: EmbeddedServer;
let dynalite: EmbeddedServer;
let work: string;
const TABLE = 'slipway-worker-cli-state';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-worker-cli-'));
  mkdirSync(join(work, 's3'));
  [s3rver, dynalite] = await Promise.all([startS3rver(join(work, 's3')), startDynalite(undefined)]);
  await createS3Client({ AWS_ENDPOINT_URL: s3rver.endpoint, AWS_REGION: 'us-east-1' }).send(
    new CreateBucketCommand({ Bucket: 'backups' }),
  );
  await createStateTable(createDynamoDbClient({ AWS_ENDPOINT_URL: dynalite.endpoint, AWS_REGION: 'us-east-1' }), TABLE);
});

afterAll(async () => {
  await Promise.all([s3rver.close(), dynalite.close()]);
  rmSync(work, { recursive: true, force: true });
});

const worker = (args: string[], env: Record<string, string> = {}) =>
  runWorker(args, { AWS_ENDPOINT_URL: s3rver.endpoint, ...env });

describe('slipway-worker run-job and healthcheck (the worker task)', () => {
  const store = () =>
    new BackupStore(
      documentClient(createDynamoDbClient({ AWS_ENDPOINT_URL: dynalite.endpoint, AWS_REGION: 'us-east-1' })),
      TABLE,
    );
  const taskEnv = () => ({
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    STATE_TABLE: TABLE,
    SLIPWAY_VOLUME_ROOT: join(work, 'mnt'),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const queued = (id: string, volume: string): ArchiveRecord => ({
    id,
    kind: 'volume-archive',
    volume,
    status: 'QUEUED',
    trigger: 'schedule',
    runner: 'ecs',
    bucket: 'backups',
    prefix: `volumes/${volume}/${id}`,
    createdAt: '2026-11-22T03:30:00.000Z',
    updatedAt: '2026-11-22T03:30:00.000Z',
  });

  it('given a queued archive, when the task runs its job, then the record is AVAILABLE and the line says so', async () => {
    mkdirSync(join(work, 'mnt', 'search-index', 'segments'), { recursive: true });
    writeFileSync(join(work, 'mnt', 'search-index', 'segments', '0001.seg'), 'index\n');
    const id = 'bkp-00000000-0000-4000-8000-00000000c001';
    await store().create(queued(id, 'search-index'));

    const run = await worker(['run-job', '--job', JSON.stringify({ type: 'backup', backupId: id })], taskEnv());

    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('slipway-worker');
    expect(JSON.parse(run.stdout)).toEqual({ command: 'run-job', id, status: 'AVAILABLE' });
    expect(await store().get(id)).toMatchObject({ status: 'AVAILABLE', files: 1, consistent: true });
  });

  it('given a volume that is not mounted, when the job runs, then it is recorded FAILED and the task exits 1', async () => {
    const id = 'bkp-00000000-0000-4000-8000-00000000c002';
    await store().create(queued(id, 'not-mounted'));

    const run = await worker(['run-job', '--job', JSON.stringify({ type: 'backup', backupId: id })], taskEnv());

    expect(run.code).toBe(1);
    const reason = `volume directory ${join(work, 'mnt', 'not-mounted')} does not exist`;
    expect(JSON.parse(run.stdout)).toEqual({ command: 'run-job', id, status: 'FAILED', reason });
    expect(await store().get(id)).toMatchObject({ status: 'FAILED', reason });
  });

  it('given metrics on, when the task runs a job, then its metrics reach stdout as an EMF line beside the result line', async () => {
    // given: the task as ECS runs it, whose stdout the awslogs driver sends to CloudWatch Logs
    mkdirSync(join(work, 'mnt', 'search-index', 'segments'), { recursive: true });
    writeFileSync(join(work, 'mnt', 'search-index', 'segments', '0001.seg'), 'index\n');
    const id = 'bkp-00000000-0000-4000-8000-00000000c003';
    await store().create(queued(id, 'search-index'));

    // when
    const run = await worker(['run-job', '--job', JSON.stringify({ type: 'backup', backupId: id })], {
      ...taskEnv(),
      POWERTOOLS_METRICS_DISABLED: 'false',
    });

    // then
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'Slipway',
              Dimensions: [['service', 'Handler']],
              Metrics: [{ Name: 'ArchivesAvailable', Unit: 'Count' }],
            },
          ],
        },
        service: 'slipway',
        Handler: 'workerTask',
        ArchivesAvailable: 1,
      },
      { command: 'run-job', id, status: 'AVAILABLE' },
    ]);
  });

  it('refuses a job that is not one, with exit 2', async () => {
    const run = await worker(['run-job', '--job', '{"type":"backup","backupId":"x"}'], taskEnv());
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(/^slipway-worker: --job: /);
  });

  it('is healthy with pg_dump present and a fresh heartbeat, unhealthy when the heartbeat is a minute old', async () => {
    const heartbeat = join(work, 'heartbeat');
    const env = { SLIPWAY_PG_BIN_DIR: serverBinDir(), SLIPWAY_HEARTBEAT_FILE: heartbeat };
    writeFileSync(heartbeat, String(Date.now()));
    const healthy = await worker(['healthcheck'], env);
    expect(healthy.code).toBe(0);
    expect(JSON.parse(healthy.stdout)).toMatchObject({
      command: 'healthcheck',
      healthy: true,
      pgDump: expect.stringMatching(/^pg_dump \(PostgreSQL\) \d+/),
    });

    writeFileSync(heartbeat, String(Date.now() - 90_000));
    const stuck = await worker(['healthcheck'], env);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toMatch(/^slipway-worker healthcheck: the job's heartbeat is 9\d s old$/m);
  });
});

describe('slipway-worker', () => {
  it('backs a directory up to S3 and restores it elsewhere, one JSON line each', async () => {
    // Given a small tree
    const dir = join(work, 'uploads');
    mkdirSync(join(dir, 'images'), { recursive: true });
    writeFileSync(join(dir, 'images', 'logo.txt'), 'slipway\n');
    writeFileSync(join(dir, 'empty.bin'), '');

    // When it is backed up through the command line, against the endpoint in AWS_ENDPOINT_URL
    const backup = await worker(['backup-volume', '--dir', dir, '--bucket', 'backups', '--prefix', 'volumes/uploads']);

    // Then one JSON line says what was written
    expect(backup.code).toBe(0);
    const lines = backup.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const written = JSON.parse(lines[0] ?? '{}');
    expect(written).toMatchObject({
      command: 'backup-volume',
      archiveKey: expect.stringMatching(/^volumes\/uploads\/\d{8}T\d{6}Z\.tar\.gz$/),
      manifestKey: expect.stringMatching(/^volumes\/uploads\/\d{8}T\d{6}Z\.manifest\.ndjson$/),
      archiveSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      consistent: true,
    });

    // And restoring it into a new directory gives the same files
    const target = join(work, 'restored');
    const restore = await worker([
      'restore-volume',
      '--bucket',
      'backups',
      '--manifest',
      written.manifestKey,
      '--dir',
      target,
    ]);
    expect(restore.code).toBe(0);
    expect(JSON.parse(restore.stdout.trim())).toMatchObject({ command: 'restore-volume', target });
    expect(readFileSync(join(target, 'images', 'logo.txt'), 'utf8')).toBe('slipway\n');
    expect(readFileSync(join(target, 'empty.bin'), 'utf8')).toBe('');
  });

  it('explains a usage mistake in one line and exits 2', async () => {
    const missing = await worker(['backup-volume', '--dir', work, '--bucket', 'backups']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('slipway-worker: --prefix is required');
    const both = await worker([
      'backup-postgres',
      '--url',
      'postgres://a@b/c',
      '--secret',
      's',
      '--bucket',
      'b',
      '--prefix',
      'p',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr.split('\n')[0]).toBe('slipway-worker: give exactly one of --url or --secret');
    const unknown = await worker(['backup-everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('slipway-worker: unknown command backup-everything');
  });

  it('fails with the reason, and exits 1, when the restore cannot verify', async () => {
    const result = await worker([
      'restore-volume',
      '--bucket',
      'backups',
      '--manifest',
      'volumes/nothing.manifest.ndjson',
      '--dir',
      join(work, 'never'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('volumes/nothing.manifest.ndjson');
    expect(result.stdout).toBe('');
  });
});
