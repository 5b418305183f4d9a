import { audited, statusOutcome } from '../audit/trail';
import { NotFound, Unprocessable } from '../errors';
import { logger, metrics } from '../observability';
import type { WorkerJob } from '../worker/launch';
import { type ArchiveSubject, archiveSettings, subjectKey } from './archive-retention';
import {
  type ArchiveJobsContext,
  describeSubject,
  drillMetric,
  failJob,
  newestAvailable,
  notifyArchive,
  REASON_LENGTH,
  subjectOfRecord,
} from './archives-context';
import { minuteStamp } from './identifiers';
import { type ArchiveRecord, type ArchiveRestoreRecord, type ArchiveRestoreTarget, isArchive } from './records';
import { archiveDestination } from './vault-bucket';

/**
 * Starting archive, dump and restore jobs: the record first, then the worker where the data can be
 * reached (the launcher). What follows them to their end is archive-settlement.ts.
 */

export interface ArchiveRestoreRequest {
  subject: ArchiveSubject;
  /** Default: the subject's newest available archive or dump. */
  backupId?: string;
  /** Volumes: a directory under the volume's root. Dumps: a database on the same server. */
  target: ArchiveRestoreTarget;
  force: boolean;
  requestedBy: string;
}

/** Starts an archive or a dump now; skipped, with the reason, while the previous one still runs. */
export async function takeArchive(
  ctx: ArchiveJobsContext,
  subject: ArchiveSubject,
  trigger: string,
): Promise<ArchiveRecord> {
  // A request's backup is audited by its route (trigger `api:<principal>`).
  if (trigger.startsWith('api:')) return takeNow(ctx, subject, trigger);
  return audited(
    ctx.deps.audit,
    { actor: trigger, action: 'backup.take', target: { ...subject } },
    () => takeNow(ctx, subject, trigger),
    (record) => ({ target: { backupId: record.id, kind: record.kind }, outcome: statusOutcome(record) }),
  );
}

async function takeNow(ctx: ArchiveJobsContext, subject: ArchiveSubject, trigger: string): Promise<ArchiveRecord> {
  const settings = archiveSettings(ctx.deps.config, subject);
  const at = ctx.now().toISOString();
  const id = ctx.newBackupId();
  const record: ArchiveRecord = {
    id,
    kind: settings.kind,
    ...subject,
    status: 'QUEUED',
    trigger,
    runner: settings.runner,
    ...archiveDestination(ctx.deps.config, ctx.deps.bucket),
    // Its own folder: a retried or overlapping run can never collide with another archive's keys.
    prefix: `${settings.prefix}/${id}`,
    ...(settings.compression ? { compression: settings.compression } : {}),
    ...(settings.sqlite ? { sqlite: settings.sqlite } : {}),
    ...(settings.credentialsSecret ? { credentialsSecret: settings.credentialsSecret } : {}),
    createdAt: at,
    updatedAt: at,
  };
  const running = (await ctx.deps.store.withStatus(subjectKey(subject), ['QUEUED', 'CREATING'], 50)).find(
    (candidate) => isArchive(candidate) && candidate.kind === settings.kind,
  );
  if (running) {
    return finishEarly(ctx, {
      ...record,
      status: 'SKIPPED',
      reason: `${running.id} of ${describeSubject(subject)} is still ${running.status === 'QUEUED' ? 'starting' : 'running'}`,
    });
  }
  await ctx.deps.store.create(record);
  metrics.addMetric('ArchivesStarted', 'Count', 1);
  return (await launch(ctx, { type: 'backup', backupId: record.id }, record)) as ArchiveRecord;
}

/** A restore by the worker: into a directory under the volume, or into a database on the dumped server. */
export async function restoreArchive(
  ctx: ArchiveJobsContext,
  request: ArchiveRestoreRequest,
  drill = false,
): Promise<ArchiveRestoreRecord> {
  const settings = archiveSettings(ctx.deps.config, request.subject);
  const backup = request.backupId
    ? await ctx.deps.store.get(request.backupId)
    : await newestAvailable(ctx.deps.store, request.subject, settings.kind);
  const what = describeSubject(request.subject);
  if (!backup) {
    throw request.backupId
      ? new NotFound(`${what} has no backup ${request.backupId}`)
      : new Unprocessable(`${what} has no available ${settings.kind} to restore`);
  }
  if (
    !isArchive(backup) ||
    backup.kind !== settings.kind ||
    subjectKey(subjectOfRecord(backup)) !== subjectKey(request.subject)
  ) {
    throw new NotFound(`${what} has no ${settings.kind} ${backup.id}`, { details: { kind: backup.kind } });
  }
  if (backup.status !== 'AVAILABLE' || !backup.manifestKey) {
    throw new Unprocessable(`backup ${backup.id} is ${backup.status}, not AVAILABLE`, {
      details: { status: backup.status },
    });
  }
  const at = ctx.now().toISOString();
  const record: ArchiveRestoreRecord = {
    id: ctx.newRestoreId(),
    kind: settings.kind === 'volume-archive' ? 'volume' : 'postgres-dump',
    ...request.subject,
    backupId: backup.id,
    target: request.target,
    force: request.force,
    runner: settings.runner,
    status: 'QUEUED',
    requestedBy: request.requestedBy,
    drill,
    createdAt: at,
    updatedAt: at,
  };
  await ctx.deps.restores.create(record);
  metrics.addMetric(drill ? 'ArchiveDrillsStarted' : 'ArchiveRestoresStarted', 'Count', 1);
  return (await launch(ctx, { type: 'restore', restoreId: record.id }, record)) as ArchiveRestoreRecord;
}

/** The drill: the newest archive or dump into scratch; the worker verifies it, times it and removes it. */
export async function drillArchive(ctx: ArchiveJobsContext, subject: ArchiveSubject): Promise<ArchiveRestoreRecord> {
  return audited(
    ctx.deps.audit,
    { actor: 'drill', action: 'restore.drill', target: { ...subject } },
    () => drillNow(ctx, subject),
    (record) => ({
      target: { restoreId: record.id, backupId: record.backupId },
      outcome: statusOutcome(record),
    }),
  );
}

async function drillNow(ctx: ArchiveJobsContext, subject: ArchiveSubject): Promise<ArchiveRestoreRecord> {
  const stamp = minuteStamp(ctx.now());
  try {
    return await restoreArchive(
      ctx,
      {
        subject,
        // A volume drill restores to the worker's own disk, never into the live volume.
        target: 'volume' in subject ? { scratch: true } : { database: `slipway_drill_${stamp}` },
        force: false,
        requestedBy: 'drill',
      },
      true,
    );
  } catch (error) {
    drillMetric(subject, 'DrillFailures');
    throw error;
  }
}

async function launch(ctx: ArchiveJobsContext, job: WorkerJob, record: ArchiveRecord | ArchiveRestoreRecord) {
  const isBackup = job.type === 'backup';
  try {
    const { taskArn } = await ctx.deps.launcher.launch(job, {
      runner: record.runner,
      ...(record.volume !== undefined ? { volume: record.volume } : {}),
    });
    if (!taskArn) return record;
    const set = { taskArn, updatedAt: ctx.now().toISOString() };
    // The worker may already have claimed it: the ARN is then written under its new status.
    const updated = isBackup
      ? await ctx.deps.store.update<ArchiveRecord>(record.id, ['QUEUED', 'CREATING'], set)
      : await ctx.deps.restores.update<ArchiveRestoreRecord>(record.id, ['QUEUED', 'RESTORING'], set);
    return updated ?? { ...record, taskArn };
  } catch (error) {
    const reason = `could not start the worker: ${(error as Error).message}`.slice(0, REASON_LENGTH);
    return (await failJob(ctx, record, reason)) ?? record;
  }
}

async function finishEarly(ctx: ArchiveJobsContext, record: ArchiveRecord): Promise<ArchiveRecord> {
  await ctx.deps.store.create(record);
  logger.warn(`archive ${record.status.toLowerCase()}`, { id: record.id, reason: record.reason });
  metrics.addMetric('ArchivesSkipped', 'Count', 1);
  await notifyArchive(ctx.deps.publisher, record);
  return record;
}
