import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { archiveDimensions, notifyArchive, notifyRestore } from '../backup/archives-context';
import { type ArchiveRecord, type ArchiveRestoreRecord, isArchive, isArchiveRestore } from '../backup/records';
import { InvalidInput, SlipwayError } from '../errors';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { BackupStore, RestoreStore } from '../store/backups';
import type { WorkerJob } from './launch';
import type { PgConnection, PostgresTools } from './postgres';
import { backupVolume, restoreVolume, type VolumeProgress } from './volume';

/**
 * One worker job, the same in the volume function and in the worker task: claim the record the
 * control plane queued (a second delivery of the job finds it claimed and does nothing), do the
 * work, record the outcome. A drill also verifies, times and removes what it restored.
 */

export interface WorkerJobDeps {
  store: BackupStore;
  restores: RestoreStore;
  s3: S3Client;
  /** A client for a vault bucket in another region than the worker's own (backups.vaultBucket.region). */
  s3In?: (region: string) => S3Client;
  publisher: Publisher;
  /** Where volumes are mounted: `<volumeRoot>/<volume>`. */
  volumeRoot: string;
  /** Reads a database's credentials (RDS secret format) from Secrets Manager. */
  connectionFor: (secretId: string) => Promise<PgConnection>;
  /** Where volume drills restore: the worker's own disk. */
  scratchRoot?: string;
  /** Where pg_dump, pg_restore and psql are, when not on PATH. */
  pgBinDir?: string;
  /** Dumps and their restores: the worker task has the PostgreSQL tools, a volume function has none. */
  postgres?: PostgresTools;
  onProgress?: (progress: VolumeProgress) => void;
  now?: () => Date;
}

/** The client for the record's bucket: the worker's own, or one in the vault bucket's region. */
function s3Of(deps: WorkerJobDeps, record: Pick<ArchiveRecord, 'vault'>): S3Client {
  const region = record.vault?.region;
  return region && deps.s3In ? deps.s3In(region) : deps.s3;
}

/** A dump job on a runner without the PostgreSQL tools: the launcher sends dumps to the worker task only. */
function postgresOf(deps: WorkerJobDeps): PostgresTools {
  if (!deps.postgres) throw new InvalidInput('dumps run on the worker task: this runner has no PostgreSQL tools');
  return deps.postgres;
}

export interface JobOutcome {
  id: string;
  status: string;
  reason?: string;
}

const REASON_LENGTH = 500;

const reasonOf = (error: unknown) =>
  (error instanceof SlipwayError
    ? error.message
    : `${(error as Error).name ?? 'Error'}: ${(error as Error).message ?? String(error)}`
  ).slice(0, REASON_LENGTH);

const secondsSince = (start: string, now: Date) => Math.round((now.getTime() - Date.parse(start)) / 1000);

/** `path` under `root`, refusing anything that would land outside it. */
export function volumeTarget(root: string, path: string): string {
  const target = resolve(root, path);
  const inside = relative(root, target);
  const escapes = inside === '..' || inside.startsWith(`..${sep}`);
  if (path === '' || isAbsolute(path) || inside === '' || escapes || isAbsolute(inside)) {
    throw new InvalidInput(`target path ${JSON.stringify(path)} must be a directory inside the volume`);
  }
  return target;
}

export async function runJob(job: WorkerJob, deps: WorkerJobDeps): Promise<JobOutcome> {
  return job.type === 'backup' ? runBackup(job.backupId, deps) : runRestore(job.restoreId, deps);
}

async function runBackup(id: string, deps: WorkerJobDeps): Promise<JobOutcome> {
  const now = deps.now ?? (() => new Date());
  const found = await deps.store.get(id);
  if (!found || !isArchive(found)) return { id, status: 'UNKNOWN', reason: `no archive or dump ${id}` };
  const claimed = await deps.store.update<ArchiveRecord>(id, ['QUEUED'], {
    status: 'CREATING',
    updatedAt: now().toISOString(),
  });
  if (!claimed) return { id, status: found.status, reason: 'already claimed by another run' };

  try {
    let set: Partial<ArchiveRecord>;
    if (claimed.kind === 'volume-archive') {
      const result = await backupVolume({
        dir: join(deps.volumeRoot, claimed.volume as string),
        s3: s3Of(deps, claimed),
        bucket: claimed.bucket,
        ...(claimed.vault ? { vault: claimed.vault } : {}),
        prefix: claimed.prefix,
        ...(claimed.compression ? { compression: claimed.compression } : {}),
        ...(claimed.sqlite ? { sqlite: claimed.sqlite } : {}),
        ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
        now,
      });
      set = {
        archiveKey: result.archiveKey,
        manifestKey: result.manifestKey,
        bytes: result.archiveBytes,
        sha256: result.archiveSha256,
        files: result.files,
        sourceBytes: result.bytes,
        consistent: result.consistent,
        inconsistentCount: result.inconsistentCount,
        skippedCount: result.skippedCount,
        ...(claimed.sqlite ? { sqliteDatabases: result.sqliteDatabases } : {}),
      };
    } else {
      const result = await postgresOf(deps).backup({
        connection: await deps.connectionFor(claimed.credentialsSecret as string),
        s3: s3Of(deps, claimed),
        bucket: claimed.bucket,
        ...(claimed.vault ? { vault: claimed.vault } : {}),
        prefix: claimed.prefix,
        ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
        now,
      });
      set = {
        archiveKey: result.dumpKey,
        manifestKey: result.manifestKey,
        bytes: result.bytes,
        sha256: result.sha256,
        serverVersion: result.serverVersion,
        pgDumpVersion: result.pgDumpVersion,
      };
    }
    const at = now();
    const done = await deps.store.update<ArchiveRecord>(id, ['CREATING'], {
      ...set,
      status: 'AVAILABLE',
      completedAt: at.toISOString(),
      durationSeconds: secondsSince(claimed.createdAt, at),
      updatedAt: at.toISOString(),
    });
    if (!done) return { id, status: 'FAILED', reason: 'the record changed while the archive ran' };
    metrics.addMetric('ArchivesAvailable', 'Count', 1);
    if (done.consistent === false) metrics.addMetric('ArchivesInconsistent', 'Count', 1);
    await notifyArchive(deps.publisher, done);
    return { id, status: done.status };
  } catch (error) {
    const reason = reasonOf(error);
    logger.error('archive failed', { backupId: id, reason });
    const failed = await deps.store.update<ArchiveRecord>(id, ['CREATING'], {
      status: 'FAILED',
      reason,
      updatedAt: now().toISOString(),
    });
    metrics.addMetric('ArchivesFailed', 'Count', 1);
    if (failed) await notifyArchive(deps.publisher, failed);
    return { id, status: 'FAILED', reason };
  }
}

async function runRestore(id: string, deps: WorkerJobDeps): Promise<JobOutcome> {
  const now = deps.now ?? (() => new Date());
  const found = await deps.restores.get(id);
  if (!found || !isArchiveRestore(found)) return { id, status: 'UNKNOWN', reason: `no archive restore ${id}` };
  const claimed = await deps.restores.update<ArchiveRestoreRecord>(id, ['QUEUED'], {
    status: 'RESTORING',
    updatedAt: now().toISOString(),
  });
  if (!claimed) return { id, status: found.status, reason: 'already claimed by another run' };

  let scratch: string | undefined;
  let scratchDatabase: { connection: PgConnection; name: string } | undefined;
  try {
    const backup = await deps.store.get(claimed.backupId);
    if (!backup || !isArchive(backup) || !backup.manifestKey) {
      throw new InvalidInput(`backup ${claimed.backupId} has no manifest to restore from`);
    }
    let set: Partial<ArchiveRestoreRecord>;
    if (claimed.kind === 'volume') {
      let target: string;
      let root: string | undefined;
      if ('scratch' in claimed.target) {
        scratch = await mkdtemp(join(deps.scratchRoot ?? tmpdir(), 'slipway-drill-'));
        target = join(scratch, 'restored');
      } else if ('path' in claimed.target) {
        // Inside the volume by name here; by every component on disk, none a link, in restoreVolume.
        root = join(deps.volumeRoot, claimed.volume as string);
        target = volumeTarget(root, claimed.target.path);
      } else {
        throw new InvalidInput('a volume restores into a path');
      }
      const result = await restoreVolume({
        s3: s3Of(deps, backup),
        bucket: backup.bucket,
        manifestKey: backup.manifestKey,
        target,
        ...(root ? { root } : {}),
        force: claimed.force,
        ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
      });
      set = { files: result.files, bytes: result.bytes };
    } else {
      if (!('database' in claimed.target)) throw new InvalidInput('a dump restores into a database');
      const source = await deps.connectionFor(backup.credentialsSecret as string);
      const connection = { ...source, dbname: claimed.target.database };
      if (claimed.drill) scratchDatabase = { connection, name: claimed.target.database };
      const result = await postgresOf(deps).restore({
        connection,
        s3: s3Of(deps, backup),
        bucket: backup.bucket,
        manifestKey: backup.manifestKey,
        force: claimed.force,
        ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
      });
      set = { bytes: result.bytes };
    }
    const at = now();
    const done = await deps.restores.update<ArchiveRestoreRecord>(id, ['RESTORING'], {
      ...set,
      status: 'AVAILABLE',
      availableAt: at.toISOString(),
      durationSeconds: secondsSince(claimed.createdAt, at),
      updatedAt: at.toISOString(),
    });
    if (!done) return { id, status: 'FAILED', reason: 'the record changed while the restore ran' };
    if (done.drill) recordDrill(done, true);
    else metrics.addMetric('ArchiveRestoresAvailable', 'Count', 1);
    await notifyRestore(deps.publisher, done);
    return { id, status: done.status };
  } catch (error) {
    const reason = reasonOf(error);
    logger.error('archive restore failed', { restoreId: id, reason });
    const failed = await deps.restores.update<ArchiveRestoreRecord>(id, ['RESTORING'], {
      status: 'FAILED',
      reason,
      updatedAt: now().toISOString(),
    });
    if (failed?.drill) recordDrill(failed, false);
    if (failed) await notifyRestore(deps.publisher, failed);
    return { id, status: 'FAILED', reason };
  } finally {
    // A drill leaves nothing behind, whatever its outcome.
    if (scratch || scratchDatabase) {
      try {
        if (scratch) await rm(scratch, { recursive: true, force: true });
        if (scratchDatabase)
          await postgresOf(deps).drop(scratchDatabase.connection, scratchDatabase.name, deps.pgBinDir);
        await deps.restores.update<ArchiveRestoreRecord>(id, ['AVAILABLE', 'FAILED'], {
          deletedAt: now().toISOString(),
          updatedAt: now().toISOString(),
        });
      } catch (error) {
        logger.error('drill scratch not removed', { restoreId: id, error: error as Error });
      }
    }
  }
}

function recordDrill(record: ArchiveRestoreRecord, succeeded: boolean) {
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  single.setDefaultDimensions(
    archiveDimensions(
      record.volume !== undefined ? { volume: record.volume } : { database: record.database as string },
    ),
  );
  single.addMetric(succeeded ? 'DrillSuccesses' : 'DrillFailures', 'Count', 1);
  if (succeeded && record.durationSeconds !== undefined) {
    single.addMetric('DrillRtoSeconds', 'Seconds', record.durationSeconds);
  }
}
