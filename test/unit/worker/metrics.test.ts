import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { ArchiveRecord } from '../../../lib/backup/records';
import type { BackupStore, RestoreStore } from '../../../lib/store/backups';
import type { WorkerJobDeps } from '../../../lib/worker/jobs';
import { captureOutput, emfDocuments } from '../../support/emf';
import { lambdaContext } from '../../support/http';

// The job's metrics go through the module-level Metrics, which reads POWERTOOLS_METRICS_DISABLED when it is
// made (test/support/env.ts turns metrics off): turn them on, then load the modules that make it.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
const { main, WORKER_TASK_HANDLER } = await import('../../../lib/worker/cli');
const { makeHandler: makeVolumeWorker } = await import('../../../functions/workers/volume-worker');
const { runJob } = await import('../../../lib/worker/jobs');

/**
 * The archive metrics a job adds reach stdout as EMF lines, once, whoever runs the job: the worker task's
 * `run-job` (no Lambda middleware there), and the volume function (Powertools' logMetrics middleware).
 */

const BACKUP_ID = 'bkp-00000000-0000-4000-8000-0000000000e1';
const s3mock = mockClient(S3Client);

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'slipway-job-metrics-'));
  s3mock.reset();
  // A key that is free answers 404 to HEAD; a small archive and its manifest are single puts.
  s3mock
    .on(HeadObjectCommand)
    .rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
  s3mock.on(PutObjectCommand).resolves({ ETag: '"d41d8cd98f00b204e9800998ecf8427e"' });
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

afterAll(() => {
  s3mock.restore();
});

/** A queued archive of `volume` in a store that keeps one record in memory. */
function jobDeps(volume: string): WorkerJobDeps {
  let record: ArchiveRecord = {
    id: BACKUP_ID,
    kind: 'volume-archive',
    volume,
    status: 'QUEUED',
    trigger: 'schedule',
    runner: 'ecs',
    bucket: 'slipway-prod-backups',
    prefix: `volumes/${volume}/${BACKUP_ID}`,
    createdAt: '2026-11-22T03:30:00.000Z',
    updatedAt: '2026-11-22T03:30:00.000Z',
  };
  const store = {
    get: async (id: string) => (id === record.id ? record : undefined),
    update: async (id: string, from: readonly string[], set: Partial<ArchiveRecord>) => {
      if (id !== record.id || !from.includes(record.status)) return undefined;
      record = { ...record, ...set };
      return record;
    },
  };
  return {
    store: store as unknown as BackupStore,
    restores: {} as RestoreStore,
    s3: new S3Client({ region: 'us-east-1' }),
    publisher: { publish: async () => true },
    volumeRoot: root,
    connectionFor: () => Promise.reject(new Error('no database in this test')),
    now: () => new Date('2026-11-22T03:31:00.000Z'),
  };
}

/** One EMF document as Powertools writes it: namespace Slipway, dimensions service and Handler. */
const emf = (handler: string, values: Record<string, number>) => ({
  _aws: {
    Timestamp: expect.any(Number),
    CloudWatchMetrics: [
      {
        Namespace: 'Slipway',
        Dimensions: [['service', 'Handler']],
        Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })),
      },
    ],
  },
  service: 'slipway',
  Handler: handler,
  ...values,
});

describe('the worker task (slipway-worker run-job)', () => {
  /** `slipway-worker run-job` in this process: its result lines, and what it wrote to stdout and stderr. */
  async function runTask(deps: WorkerJobDeps) {
    const results: string[] = [];
    const output = await captureOutput(() =>
      main(['run-job', '--job', JSON.stringify({ type: 'backup', backupId: BACKUP_ID })], {
        out: (line) => results.push(line),
        err: () => undefined,
        env: { SLIPWAY_HEARTBEAT_FILE: join(root, 'heartbeat') },
        jobDeps: () => deps,
      }),
    );
    return { results: results.map((line) => JSON.parse(line)), output };
  }

  it('given a job that succeeds, when run, then its metrics are written as one EMF line', async () => {
    // given
    mkdirSync(join(root, 'search-index'));
    writeFileSync(join(root, 'search-index', '0001.seg'), 'index\n');

    // when
    const { results, output } = await runTask(jobDeps('search-index'));

    // then
    expect(results).toEqual([{ command: 'run-job', id: BACKUP_ID, status: 'AVAILABLE' }]);
    expect(emfDocuments(output.stdout)).toEqual([emf(WORKER_TASK_HANDLER, { ArchivesAvailable: 1 })]);
  });

  it('given a job that fails, when run, then its failure is counted in one EMF line all the same', async () => {
    // given: the volume is not mounted
    const deps = jobDeps('not-mounted');

    // when
    const { results, output } = await runTask(deps);

    // then
    expect(results).toMatchObject([{ id: BACKUP_ID, status: 'FAILED' }]);
    expect(emfDocuments(output.stdout)).toEqual([emf(WORKER_TASK_HANDLER, { ArchivesFailed: 1 })]);
  });

  it('given a job another run claimed, when run, then no metrics and no warning about empty ones', async () => {
    // given: the record is no longer QUEUED
    const deps = jobDeps('search-index');
    await deps.store.update(BACKUP_ID, ['QUEUED'], { status: 'CREATING' });

    // when
    const { output } = await runTask(deps);

    // then
    expect(output).toEqual({ stdout: [], stderr: [] });
  });
});

describe('the volume function', () => {
  it('given a job that fails, when invoked, then the middleware writes its metrics once, with the handler’s own', async () => {
    // given
    const handler = makeVolumeWorker({
      run: (job) => runJob(job, jobDeps('not-mounted')),
      deadLetters: { send: async () => undefined },
    });

    // when
    const output = await captureOutput(() =>
      handler(
        { type: 'backup', backupId: BACKUP_ID },
        lambdaContext({ functionName: 'slipway-prod-volume-search-index' }),
      ),
    );

    // then: one document, and no second flush warning that nothing was left to publish
    expect(emfDocuments(output.stdout)).toEqual([emf('volumeWorker', { EventsHandled: 1, ArchivesFailed: 1 })]);
    expect(output.stderr.filter((line) => line.includes('No application metrics'))).toEqual([]);
  });
});
