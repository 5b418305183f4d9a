import { DescribeTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import type { AuditOutcome } from '../audit/trail';
import type { SlipwayConfig } from '../config/schema';
import { logger, metrics } from '../observability';
import { publishAgeMinutes } from './ages';
import { type ArchiveSubject, archiveSettings, archivesOf, retentionCandidates, subjectKey } from './archive-retention';
import {
  type ArchiveSettlementContext,
  type ArchivesContext,
  archiveDimensions,
  failJob,
  newestAvailable,
} from './archives-context';
import {
  type ArchiveKind,
  type ArchiveRecord,
  type ArchiveRestoreRecord,
  isArchive,
  isArchiveRestore,
  type WorkerRunner,
} from './records';
import { planRetention, type RetentionDecision } from './retention';
import { retentionDeletion } from './retention-audit';

/**
 * Following archive, dump and restore jobs to their end: the worker records its outcome; this catches
 * the workers that died or ran past their limit (stopping a task that still runs), then applies
 * retention and publishes the ages the alarms watch. Starting jobs is archive-jobs.ts.
 */

const DESCRIBE_TASKS_LIMIT = 100;
// StopTask keeps up to 255 characters of its reason (ECS API Reference, StopTask).
const STOP_REASON_LENGTH = 255;

/** Every volume and every database with dumps. */
export function archiveSubjects(config: SlipwayConfig): ArchiveSubject[] {
  return [
    ...Object.keys(config.volumes).map((volume) => ({ volume })),
    ...Object.entries(config.databases).flatMap(([database, db]) => (db.dump ? [{ database }] : [])),
  ];
}

/** Records whose worker died or never started become FAILED; retention and the ages follow. */
export async function reconcileArchives(
  ctx: ArchiveSettlementContext,
): Promise<Array<{ id: string; outcome: string }>> {
  const outcomes: Array<{ id: string; outcome: string }> = [];
  for (const subject of archiveSubjects(ctx.deps.config)) {
    const settings = archiveSettings(ctx.deps.config, subject);
    const key = subjectKey(subject);
    const open = [
      ...(await ctx.deps.store.withStatus(key, ['QUEUED', 'CREATING'])).filter(isArchive),
      ...(await ctx.deps.restores.list(key, { limit: 100 })).items.filter(
        (record): record is ArchiveRestoreRecord =>
          isArchiveRestore(record) && (record.status === 'QUEUED' || record.status === 'RESTORING'),
      ),
    ];
    const stopped = await stoppedTasks(
      ctx,
      open.flatMap((record) => (record.taskArn ? [record.taskArn] : [])),
    );
    for (const record of open) {
      const verdict = openJobVerdict(record, {
        stoppedBecause: stopped.get(record.taskArn ?? ''),
        ageMinutes: (ctx.now().getTime() - Date.parse(record.createdAt)) / 60_000,
        limitMinutes: settings.limitMinutes,
      });
      if (!verdict) {
        outcomes.push({ id: record.id, outcome: `still ${record.status}` });
        continue;
      }
      // Stopped first: a task marked FAILED but left running would go on billing, and could not record its outcome.
      const reason =
        verdict.stopTask && record.taskArn
          ? `${verdict.reason}; ${await stopTask(ctx, record.id, record.taskArn, verdict.reason)}`
          : verdict.reason;
      const failed = await failJob(ctx, record, reason);
      outcomes.push({ id: record.id, outcome: failed ? 'FAILED' : 'changed meanwhile' });
    }
    try {
      await applyArchiveRetention(ctx, subject);
    } catch (error) {
      logger.warn('archive retention did not run', { subject: key, error: error as Error });
      metrics.addMetric('RetentionFailures', 'Count', 1);
    }
    await publishAges(ctx, subject, settings.kind, settings.drill !== undefined);
  }
  return outcomes;
}

/**
 * Deletes the archives retention lets go (archive and manifest), recording each deletion. One in the vault bucket is
 * only marked DELETED: its objects expire by the vault's lifecycle rule once their lock has ended.
 */
export async function applyArchiveRetention(
  ctx: ArchiveSettlementContext,
  subject: ArchiveSubject,
): Promise<RetentionDecision> {
  const settings = archiveSettings(ctx.deps.config, subject);
  const records = await archivesOf(ctx.deps.store, subject, settings.kind);
  const decision = planRetention(retentionCandidates(records), settings.retention, ctx.now());
  const byId = new Map(records.map((record) => [record.id, record]));
  for (const { snapshot, reason } of decision.delete) {
    const record = byId.get(snapshot.id);
    if (!record) continue;
    const keys = [record.archiveKey, record.manifestKey].filter((key): key is string => key !== undefined);
    try {
      // The vault's objects are left to its Object Lock and lifecycle rule: its bucket policy denies Slipway every delete.
      if (keys.length > 0 && !record.vault) {
        // The manifest goes last: an archive without its manifest is never taken for a usable backup.
        const { Errors } = await ctx.deps.s3.send(
          new DeleteObjectsCommand({
            Bucket: record.bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        if (Errors && Errors.length > 0)
          throw new Error(Errors.map((error) => `${error.Key}: ${error.Code}`).join(', '));
      }
    } catch (error) {
      logger.warn('an archive retention would delete was not deleted', {
        backupId: record.id,
        error: error as Error,
      });
      await auditDeletion(ctx, subject, record, { result: 'failed', code: (error as Error).name, detail: reason });
      continue;
    }
    await ctx.deps.store.update<ArchiveRecord>(record.id, ['AVAILABLE', 'CREATING'], {
      status: 'DELETED',
      deletedAt: ctx.now().toISOString(),
      reason: `retention: ${reason}`,
      updatedAt: ctx.now().toISOString(),
    });
    logger.info(record.vault ? 'archive let go by retention, left to the vault' : 'archive deleted by retention', {
      backupId: record.id,
      reason,
    });
    metrics.addMetric('ArchivesDeleted', 'Count', 1);
    await auditDeletion(ctx, subject, record, { result: 'succeeded', code: 'DELETED', detail: reason });
  }
  return decision;
}

function auditDeletion(
  ctx: ArchivesContext<'audit'>,
  subject: ArchiveSubject,
  record: ArchiveRecord,
  outcome: AuditOutcome,
) {
  return ctx.deps.audit.record(retentionDeletion({ ...subject, backupId: record.id, kind: record.kind }, outcome));
}

/** Stops a worker task past its limit; says what became of it, for the record's reason. */
async function stopTask(ctx: ArchivesContext<'ecs'>, id: string, taskArn: string, why: string): Promise<string> {
  try {
    await ctx.deps.ecs.send(
      new StopTaskCommand({
        cluster: clusterOfTask(taskArn),
        task: taskArn,
        reason: `Slipway: ${id}: ${why}`.slice(0, STOP_REASON_LENGTH),
      }),
    );
    logger.warn('worker task stopped past its limit', { id, taskArn, reason: why });
    return 'the worker task was stopped';
  } catch (error) {
    // ECS forgets a stopped task after about an hour, and then answers that it was not found.
    if (isTaskNotFound(error)) return 'the worker task had already ended';
    logger.error('worker task past its limit not stopped', { id, taskArn, error: error as Error });
    return `the worker task could not be stopped (${(error as Error).name}) and may still be running`;
  }
}

/** The ECS tasks among `arns` that have stopped, with why. */
async function stoppedTasks(ctx: ArchivesContext<'ecs'>, arns: string[]): Promise<Map<string, string>> {
  const stopped = new Map<string, string>();
  const cluster = arns[0] ? clusterOfTask(arns[0]) : undefined;
  for (let start = 0; cluster && start < arns.length; start += DESCRIBE_TASKS_LIMIT) {
    const { tasks, failures } = await ctx.deps.ecs.send(
      new DescribeTasksCommand({ cluster, tasks: arns.slice(start, start + DESCRIBE_TASKS_LIMIT) }),
    );
    for (const task of tasks ?? []) {
      if (task.lastStatus !== 'STOPPED' || !task.taskArn) continue;
      const container = task.containers?.[0];
      const exit = container?.exitCode !== undefined ? `, exit code ${container.exitCode}` : '';
      stopped.set(task.taskArn, `${task.stoppedReason ?? container?.reason ?? 'stopped'}${exit}`);
    }
    // ECS forgets stopped tasks after about an hour: a task it no longer knows has ended too.
    for (const failure of failures ?? []) {
      if (failure.arn && failure.reason === 'MISSING') stopped.set(failure.arn, 'ECS no longer knows the task');
    }
  }
  return stopped;
}

/** Minutes since the newest available archive or dump, and since the newest drill that passed: the alarms watch them. */
async function publishAges(
  ctx: ArchivesContext<'store' | 'restores'>,
  subject: ArchiveSubject,
  kind: ArchiveKind,
  drills: boolean,
) {
  const newest = await newestAvailable(ctx.deps.store, subject, kind);
  const dimensions = archiveDimensions(subject);
  publishAgeMinutes(
    'NewestBackupAgeMinutes',
    dimensions,
    newest ? (newest.completedAt ?? newest.createdAt) : undefined,
    ctx.now(),
  );
  if (!drills) return;
  const passed = (await ctx.deps.restores.list(subjectKey(subject), { limit: 100 })).items.find(
    (record) => isArchiveRestore(record) && record.drill && record.availableAt !== undefined,
  );
  publishAgeMinutes('NewestDrillAgeMinutes', dimensions, passed?.availableAt, ctx.now());
}

/**
 * Whether an open worker job is over, and why: its task stopped without an outcome, or it is past its limit.
 * A task past its limit is still running and is to be stopped; a function past its limit was ended by Lambda,
 * whose timeout (900 s, serverless/volume-workers.cjs) is below it.
 */
export function openJobVerdict(
  record: { status: string; runner: WorkerRunner },
  facts: { stoppedBecause: string | undefined; ageMinutes: number; limitMinutes: number },
): { reason: string; stopTask: boolean } | undefined {
  if (facts.stoppedBecause !== undefined) {
    return { reason: `the worker task stopped without recording an outcome: ${facts.stoppedBecause}`, stopTask: false };
  }
  if (facts.ageMinutes <= facts.limitMinutes) return undefined;
  const late = `no outcome after ${facts.limitMinutes} minutes`;
  if (record.status === 'QUEUED') {
    return { reason: `${late} (the worker never started)`, stopTask: record.runner === 'ecs' };
  }
  if (record.runner === 'lambda') {
    return { reason: `${late}: Lambda ended the volume function at its 15-minute timeout`, stopTask: false };
  }
  return { reason: `${late} (worker.timeoutMinutes)`, stopTask: true };
}

const isTaskNotFound = (error: unknown) =>
  (error as Error).name === 'InvalidParameterException' && /not found/i.test((error as Error).message);

/** arn:aws:ecs:region:account:task/<cluster>/<id> */
function clusterOfTask(taskArn: string): string | undefined {
  return /:task\/([^/]+)\/[^/]+$/.exec(taskArn)?.[1];
}
