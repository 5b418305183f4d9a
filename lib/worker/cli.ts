import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createS3Client } from '../aws/clients/s3';
import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { compilePathGlob, pathGlobProblem } from '../config/glob-compile';
import { SlipwayError } from '../errors';
import { logger, metrics } from '../observability';
import { connectionFromSecretId, workerDepsFromEnv } from './deps';
import { type DrillReport, drillPostgres, drillVolume } from './drills';
import { runJob, type WorkerJobDeps } from './jobs';
import { workerJob } from './launch';
import { backupPostgres, connectionFromUrl, type PgConnection, postgresTools, restorePostgres } from './postgres';
import { parseRetention, prune } from './prune';
import { backupVolume, restoreVolume, type VolumeCompression } from './volume';

/**
 * `slipway-worker`: the backup worker's command line, the same module the Lambda and the ECS
 * task run. Each command prints one JSON line with what it did on stdout (run-job also its metrics,
 * as CloudWatch EMF lines before it); progress and errors go to stderr. Every S3 and Secrets Manager
 * call honours AWS_ENDPOINT_URL.
 */

export const USAGE = `usage:
  slipway-worker backup-volume --dir DIR --bucket B --prefix P [--compression gzip|zstd] [--sqlite GLOB]...
  slipway-worker restore-volume --bucket B --manifest KEY --dir TARGET [--force]
  slipway-worker backup-postgres (--url URL | --secret SECRET_ID) --bucket B --prefix P
  slipway-worker restore-postgres --bucket B --manifest KEY (--url URL | --secret SECRET_ID) [--force]
  slipway-worker prune --bucket B --prefix P --retention daily=N,weekly=N,monthly=N [--dry-run]
  slipway-worker drill-volume --bucket B --prefix P [--dir SCRATCH] [--max-rto SECONDS]
  slipway-worker drill-postgres --bucket B --prefix P (--url URL | --secret SECRET_ID) [--max-rto SECONDS]
  slipway-worker run-job --job JSON       (the worker task: one job the control plane queued)
  slipway-worker healthcheck              (the container health check)`;

export class UsageError extends Error {}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** The worker task's dependencies; built from the environment when not given. */
  jobDeps?: () => WorkerJobDeps;
}

/** Written every few seconds while a job runs: the health check's proof the worker is not stuck. */
export const heartbeatFile = (env: NodeJS.ProcessEnv) =>
  env.SLIPWAY_HEARTBEAT_FILE || join(tmpdir(), 'slipway-worker.heartbeat');
const HEARTBEAT_MS = 10_000;
/** The `Handler` dimension of the task's metrics, as each function's name is of its own. */
export const WORKER_TASK_HANDLER = 'workerTask';
// Six missed beats: the event loop has been blocked (or the process frozen) for a minute.
const HEARTBEAT_STALE_MS = 60_000;

const OPTIONS = {
  dir: { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  manifest: { type: 'string' },
  url: { type: 'string' },
  secret: { type: 'string' },
  compression: { type: 'string' },
  sqlite: { type: 'string', multiple: true },
  force: { type: 'boolean' },
  job: { type: 'string' },
  retention: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'max-rto': { type: 'string' },
} as const;

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** --sqlite GLOB, repeatable: paths under --dir that are SQLite databases (volumes.<v>.sqlite). */
function sqliteGlobs(globs: string[] | undefined) {
  if (!globs?.length) return {};
  for (const glob of globs) {
    const problem = glob === '' ? 'it is empty' : pathGlobProblem(glob);
    if (problem) throw new UsageError(`--sqlite ${JSON.stringify(glob)}: ${problem}`);
  }
  return { sqlite: globs.map(compilePathGlob) };
}

async function connection(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<PgConnection> {
  const url = values.url as string | undefined;
  const secret = values.secret as string | undefined;
  if ((url === undefined) === (secret === undefined)) throw new UsageError('give exactly one of --url or --secret');
  if (url) return connectionFromUrl(url);
  return connectionFromSecretId(createSecretsManagerClient(env), secret as string);
}

function retention(values: Record<string, unknown>) {
  try {
    return parseRetention(required(values, 'retention'));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--retention: ${(error as Error).message}`);
  }
}

/** `--max-rto`: seconds, more than zero. */
function maxRto(values: Record<string, unknown>): { maxRtoSeconds?: number } {
  const text = values['max-rto'] as string | undefined;
  if (text === undefined) return {};
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--max-rto: expected a number of seconds above 0, received "${text}"`);
  }
  return { maxRtoSeconds: seconds };
}

/** SLIPWAY_PG_BIN_DIR: the PostgreSQL tools of the server's major version, for every command that runs them. */
const pgBinDir = (env: NodeJS.ProcessEnv) => (env.SLIPWAY_PG_BIN_DIR ? { binDir: env.SLIPWAY_PG_BIN_DIR } : {});

/** A drill's line is printed either way; a failed one also says why on stderr and fails the command. */
function drillOutcome(report: DrillReport, io: Io, command: string) {
  if (!report.ok) io.err(`slipway-worker ${command}: ${report.reason}`);
  return { result: { ...report }, failed: !report.ok };
}

/** Healthy: the PostgreSQL tools run, and a running job's heartbeat is fresh. */
async function healthcheck(env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const tool = env.SLIPWAY_PG_BIN_DIR ? join(env.SLIPWAY_PG_BIN_DIR, 'pg_dump') : 'pg_dump';
  const { stdout } = await promisify(execFile)(tool, ['--version'], { timeout: 5_000 });
  let heartbeatAgeMs: number | undefined;
  try {
    heartbeatAgeMs = Date.now() - Number((await readFile(heartbeatFile(env), 'utf8')).trim());
  } catch {
    // No job has started yet.
  }
  if (heartbeatAgeMs !== undefined && heartbeatAgeMs > HEARTBEAT_STALE_MS) {
    throw new SlipwayError('UNHEALTHY', 503, `the job's heartbeat is ${Math.round(heartbeatAgeMs / 1000)} s old`);
  }
  return { healthy: true, pgDump: stdout.trim(), ...(heartbeatAgeMs !== undefined ? { heartbeatAgeMs } : {}) };
}

async function runQueuedJob(text: string, io: Io): Promise<{ result: Record<string, unknown>; failed: boolean }> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError('--job is not JSON');
  }
  const parsed = workerJob.safeParse(json);
  if (!parsed.success) throw new UsageError(`--job: ${parsed.error.issues[0]?.message ?? 'not a job'}`);
  const beat = () => writeFile(heartbeatFile(io.env), String(Date.now())).catch(() => undefined);
  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  metrics.addDimension('Handler', WORKER_TASK_HANDLER);
  try {
    const outcome = await runJob(
      parsed.data,
      (io.jobDeps ?? (() => ({ ...workerDepsFromEnv(io.env), postgres: postgresTools })))(),
    );
    return { result: { ...outcome }, failed: outcome.status === 'FAILED' };
  } finally {
    clearInterval(timer);
    // No Lambda middleware runs in the task: the job's metrics exist only as the EMF lines written here, which
    // the awslogs driver sends to CloudWatch Logs and CloudWatch extracts (CloudWatch user guide, embedded metric format).
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

/** Runs one command; resolves with the process exit code (0 done, 1 failed, 2 usage). */
export async function main(
  argv: string[],
  io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), env: process.env },
): Promise<number> {
  const [command, ...rest] = argv;
  // An operator's command answers with one JSON line on stdout, where the Logger writes INFO (console.info); its
  // warnings and errors go to stderr. The task's run-job keeps INFO: stdout is its CloudWatch log there.
  if (command !== 'run-job' && io.env.POWERTOOLS_LOG_LEVEL === undefined) logger.setLogLevel('WARN');
  try {
    const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false });
    const s3 = createS3Client(io.env);
    let lastReport = 0;
    const onProgress = (progress: { files: number; bytes: number }) => {
      const now = Date.now();
      if (now - lastReport < 1_000) return;
      lastReport = now;
      io.err(`${command}: ${progress.files} files, ${progress.bytes} bytes`);
    };
    let result: Record<string, unknown>;
    let failed = false;
    switch (command) {
      case 'run-job':
        ({ result, failed } = await runQueuedJob(required(values, 'job'), io));
        break;
      case 'healthcheck':
        result = await healthcheck(io.env);
        break;
      case 'backup-volume': {
        const compression = (values.compression ?? 'gzip') as VolumeCompression;
        if (compression !== 'gzip' && compression !== 'zstd') throw new UsageError('--compression is gzip or zstd');
        result = {
          ...(await backupVolume({
            dir: required(values, 'dir'),
            s3,
            bucket: required(values, 'bucket'),
            prefix: required(values, 'prefix'),
            compression,
            ...sqliteGlobs(values.sqlite),
            onProgress,
          })),
        };
        break;
      }
      case 'restore-volume':
        result = {
          ...(await restoreVolume({
            s3,
            bucket: required(values, 'bucket'),
            manifestKey: required(values, 'manifest'),
            target: required(values, 'dir'),
            force: values.force === true,
            onProgress,
          })),
        };
        break;
      case 'backup-postgres':
        result = {
          ...(await backupPostgres({
            connection: await connection(values, io.env),
            s3,
            bucket: required(values, 'bucket'),
            prefix: required(values, 'prefix'),
            ...pgBinDir(io.env),
          })),
        };
        break;
      case 'restore-postgres':
        result = {
          ...(await restorePostgres({
            connection: await connection(values, io.env),
            s3,
            bucket: required(values, 'bucket'),
            manifestKey: required(values, 'manifest'),
            force: values.force === true,
            ...pgBinDir(io.env),
          })),
        };
        break;
      case 'prune': {
        const pruned = await prune({
          s3,
          bucket: required(values, 'bucket'),
          prefix: required(values, 'prefix'),
          retention: retention(values),
          dryRun: values['dry-run'] === true,
        });
        result = { ...pruned };
        failed = pruned.failed.length > 0;
        if (failed) io.err(`slipway-worker prune: ${pruned.failed.length} backup(s) not deleted; see "failed"`);
        break;
      }
      case 'drill-volume':
        ({ result, failed } = drillOutcome(
          await drillVolume({
            s3,
            bucket: required(values, 'bucket'),
            prefix: required(values, 'prefix'),
            ...(values.dir !== undefined ? { dir: required(values, 'dir') } : {}),
            ...maxRto(values),
            onProgress,
          }),
          io,
          command,
        ));
        break;
      case 'drill-postgres': {
        const bucket = required(values, 'bucket');
        const prefix = required(values, 'prefix');
        const limit = maxRto(values);
        ({ result, failed } = drillOutcome(
          await drillPostgres({
            s3,
            bucket,
            prefix,
            connection: await connection(values, io.env),
            ...pgBinDir(io.env),
            ...limit,
          }),
          io,
          command,
        ));
        break;
      }
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'a command is required');
    }
    io.out(JSON.stringify({ command, ...result }));
    // The task's exit code tells ECS (and whoever reads the task) how the job ended.
    return failed ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`slipway-worker: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    // Slipway's own errors carry a message meant for people; anything else is named, not dumped.
    const message =
      error instanceof SlipwayError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    io.err(`slipway-worker ${command}: ${message}`);
    return 1;
  }
}
