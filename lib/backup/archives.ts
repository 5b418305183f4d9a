import { randomUUID } from 'node:crypto';
import { DescribeTasksCommand, type ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { type AuditOutcome, type AuditRecorder, audited, statusOutcome } from '../audit/trail';
import type { SlipwayConfig } from '../config/schema';
import { NotFound, Unprocessable } from '../errors';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { BackupStore, RestoreStore } from '../store/backups';
import type { WorkerJob, WorkerLauncher } from '../worker/launch';
import { publishAgeMinutes } from './ages';
import {
  type ArchiveSubject,
  archiveSettings,
  archivesOf,
  previewArchiveRetention,
  retentionCandidates,
  subjectKey,
} from './archive-retention';
import { minuteStamp } from './identifiers';
import {
  type AnyBackupRecord,
  type ArchiveKind,
  type ArchiveRecord,
  type ArchiveRestoreRecord,
  type ArchiveRestoreTarget,
  isArchive,
  isArchiveRestore,
  type WorkerRunner,
} from './records';
import { planRetention, type RetentionDecision } from './retention';

/**
 * Volume archives and PostgreSQL dumps, as the control plane sees them: it records the job,
 * starts the worker where the data can be reached, follows the job to its end (the worker
 * records the outcome; the reconciler catches workers that died), applies retention and runs drills.
 */

export type { ArchiveSubject } from './archive-retention';

export interface ArchiveRestoreRequest {
  subject: ArchiveSubject;
  /** Default: the subject's newest available archive or dump. */
  backupId?: string;
  /** Volumes: a directory under the volume's root. Dumps: a database on the same server. */
  target: ArchiveRestoreTarget;
  force: boolean;
  requestedBy: string;
}

export interface ArchivesDeps {
  config: SlipwayConfig;
  store: BackupStore;
  restores: RestoreStore;
  s3: S3Client;
  bucket: string;
  launcher: WorkerLauncher;
  ecs: ECSClient;
  publisher: Publisher;
  /** Where what Slipway does by itself (scheduled backups, retention, drills) is recorded. */
  audit: AuditRecorder;
  now?: () => Date;
  newBackupId?: () => string;
  newRestoreId?: () => string;
}

const REASON_LENGTH = 500;
const DESCRIBE_TASKS_LIMIT = 100;
// StopTask keeps up to 255 characters of its reason (ECS API Reference, StopTask).
const STOP_REASON_LENGTH = 255;

export const describeSubject = (subject: ArchiveSubject) =>
  'volume' in subject ? `volume ${subject.volume}` : `database ${subject.database}`;
const subjectOfRecord = (record: { volume?: string; database?: string }): ArchiveSubject =>
  record.volume !== undefined ? { volume: record.volume } : { database: record.database as string };

export class Archives {
  private readonly now: () => Date;
  private readonly newBackupId: () => string;
  private readonly newRestoreId: () => string;

  constructor(private readonly deps: ArchivesDeps) {
    this.now = deps.now ?? (() => new Date());
    this.newBackupId = deps.newBackupId ?? (() => `bkp-${randomUUID()}`);
    this.newRestoreId = deps.newRestoreId ?? (() => `rst-${randomUUID()}`);
  }

  /** Every volume and every database with dumps. */
  subjects(): ArchiveSubject[] {
    return [
      ...Object.keys(this.deps.config.volumes).map((volume) => ({ volume })),
      ...Object.entries(this.deps.config.databases).flatMap(([database, db]) => (db.dump ? [{ database }] : [])),
    ];
  }

  /** What the subject's config says: how it runs, how long it may, what retention keeps. */
  settings(subject: ArchiveSubject) {
    return archiveSettings(this.deps.config, subject);
  }

  /** Starts an archive or a dump now; skipped, with the reason, while the previous one still runs. */
  async take(subject: ArchiveSubject, trigger: string): Promise<ArchiveRecord> {
    // A request's backup is audited by its route (trigger `api:<principal>`).
    if (trigger.startsWith('api:')) return this.takeNow(subject, trigger);
    return audited(
      this.deps.audit,
      { actor: trigger, action: 'backup.take', target: { ...subject } },
      () => this.takeNow(subject, trigger),
      (record) => ({ target: { backupId: record.id, kind: record.kind }, outcome: statusOutcome(record) }),
    );
  }

  private async takeNow(subject: ArchiveSubject, trigger: string): Promise<ArchiveRecord> {
    const settings = this.settings(subject);
    const at = this.now().toISOString();
    const id = this.newBackupId();
    const record: ArchiveRecord = {
      id,
      kind: settings.kind,
      ...subject,
      status: 'QUEUED',
      trigger,
      runner: settings.runner,
      bucket: this.deps.bucket,
      // Its own folder: a retried or overlapping run can never collide with another archive's keys.
      prefix: `${settings.prefix}/${id}`,
      ...(settings.compression ? { compression: settings.compression } : {}),
      ...(settings.credentialsSecret ? { credentialsSecret: settings.credentialsSecret } : {}),
      createdAt: at,
      updatedAt: at,
    };
    const running = (await this.deps.store.withStatus(subjectKey(subject), ['QUEUED', 'CREATING'], 50)).find(
      (candidate) => isArchive(candidate) && candidate.kind === settings.kind,
    );
    if (running) {
      return this.finishEarly({
        ...record,
        status: 'SKIPPED',
        reason: `${running.id} of ${describeSubject(subject)} is still ${running.status === 'QUEUED' ? 'starting' : 'running'}`,
      });
    }
    await this.deps.store.create(record);
    metrics.addMetric('ArchivesStarted', 'Count', 1);
    return (await this.launch({ type: 'backup', backupId: record.id }, record)) as ArchiveRecord;
  }

  /** A restore by the worker: into a directory under the volume, or into a database on the dumped server. */
  async restore(request: ArchiveRestoreRequest, drill = false): Promise<ArchiveRestoreRecord> {
    const settings = this.settings(request.subject);
    const backup = request.backupId
      ? await this.deps.store.get(request.backupId)
      : await this.newestAvailable(request.subject, settings.kind);
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
    const at = this.now().toISOString();
    const record: ArchiveRestoreRecord = {
      id: this.newRestoreId(),
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
    await this.deps.restores.create(record);
    metrics.addMetric(drill ? 'ArchiveDrillsStarted' : 'ArchiveRestoresStarted', 'Count', 1);
    return (await this.launch({ type: 'restore', restoreId: record.id }, record)) as ArchiveRestoreRecord;
  }

  /** The drill: the newest archive or dump into scratch; the worker verifies it, times it and removes it. */
  async drill(subject: ArchiveSubject): Promise<ArchiveRestoreRecord> {
    return audited(
      this.deps.audit,
      { actor: 'drill', action: 'restore.drill', target: { ...subject } },
      () => this.drillNow(subject),
      (record) => ({
        target: { restoreId: record.id, backupId: record.backupId },
        outcome: statusOutcome(record),
      }),
    );
  }

  private async drillNow(subject: ArchiveSubject): Promise<ArchiveRestoreRecord> {
    const stamp = minuteStamp(this.now());
    try {
      return await this.restore(
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
      this.drillMetric(subject, 'DrillFailures');
      throw error;
    }
  }

  /** Records whose worker died or never started become FAILED; retention and the ages follow. */
  async reconcile(): Promise<Array<{ id: string; outcome: string }>> {
    const outcomes: Array<{ id: string; outcome: string }> = [];
    for (const subject of this.subjects()) {
      const settings = this.settings(subject);
      const key = subjectKey(subject);
      const open = [
        ...(await this.deps.store.withStatus(key, ['QUEUED', 'CREATING'])).filter(isArchive),
        ...(await this.deps.restores.list(key, { limit: 100 })).items.filter(
          (record): record is ArchiveRestoreRecord =>
            isArchiveRestore(record) && (record.status === 'QUEUED' || record.status === 'RESTORING'),
        ),
      ];
      const stopped = await this.stoppedTasks(open.flatMap((record) => (record.taskArn ? [record.taskArn] : [])));
      for (const record of open) {
        const verdict = openJobVerdict(record, {
          stoppedBecause: stopped.get(record.taskArn ?? ''),
          ageMinutes: (this.now().getTime() - Date.parse(record.createdAt)) / 60_000,
          limitMinutes: settings.limitMinutes,
        });
        if (!verdict) {
          outcomes.push({ id: record.id, outcome: `still ${record.status}` });
          continue;
        }
        // Stopped first: a task marked FAILED but left running would go on billing, and could not record its outcome.
        const reason =
          verdict.stopTask && record.taskArn
            ? `${verdict.reason}; ${await this.stopTask(record.id, record.taskArn, verdict.reason)}`
            : verdict.reason;
        const failed = await this.fail(record, reason);
        outcomes.push({ id: record.id, outcome: failed ? 'FAILED' : 'changed meanwhile' });
      }
      try {
        await this.applyRetention(subject);
      } catch (error) {
        logger.warn('archive retention did not run', { subject: key, error: error as Error });
        metrics.addMetric('RetentionFailures', 'Count', 1);
      }
      await this.publishAges(subject, settings.kind, settings.drill !== undefined);
    }
    return outcomes;
  }

  async retentionPreview(subject: ArchiveSubject): Promise<RetentionDecision> {
    return previewArchiveRetention({ config: this.deps.config, store: this.deps.store, now: this.now }, subject);
  }

  /** Deletes the archives retention lets go (archive and manifest), recording each deletion. */
  async applyRetention(subject: ArchiveSubject): Promise<RetentionDecision> {
    const settings = this.settings(subject);
    const records = await this.archivesOf(subject, settings.kind);
    const decision = planRetention(retentionCandidates(records), settings.retention, this.now());
    const byId = new Map(records.map((record) => [record.id, record]));
    for (const { snapshot, reason } of decision.delete) {
      const record = byId.get(snapshot.id);
      if (!record) continue;
      const keys = [record.archiveKey, record.manifestKey].filter((key): key is string => key !== undefined);
      try {
        if (keys.length > 0) {
          // The manifest goes last: an archive without its manifest is never taken for a usable backup.
          const { Errors } = await this.deps.s3.send(
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
        await this.auditDeletion(subject, record, { result: 'failed', code: (error as Error).name, detail: reason });
        continue;
      }
      await this.deps.store.update<ArchiveRecord>(record.id, ['AVAILABLE', 'CREATING'], {
        status: 'DELETED',
        deletedAt: this.now().toISOString(),
        reason: `retention: ${reason}`,
        updatedAt: this.now().toISOString(),
      });
      logger.info('archive deleted by retention', { backupId: record.id, reason });
      metrics.addMetric('ArchivesDeleted', 'Count', 1);
      await this.auditDeletion(subject, record, { result: 'succeeded', code: 'DELETED', detail: reason });
    }
    return decision;
  }

  private auditDeletion(subject: ArchiveSubject, record: ArchiveRecord, outcome: AuditOutcome) {
    return this.deps.audit.record({
      source: 'automatic',
      actor: 'retention',
      action: 'backup.delete',
      decision: 'allowed',
      target: { ...subject, backupId: record.id, kind: record.kind },
      outcome,
    });
  }

  // ---- internals ------------------------------------------------------------------------

  private async launch(job: WorkerJob, record: ArchiveRecord | ArchiveRestoreRecord) {
    const isBackup = job.type === 'backup';
    try {
      const { taskArn } = await this.deps.launcher.launch(job, {
        runner: record.runner,
        ...(record.volume !== undefined ? { volume: record.volume } : {}),
      });
      if (!taskArn) return record;
      const set = { taskArn, updatedAt: this.now().toISOString() };
      // The worker may already have claimed it: the ARN is then written under its new status.
      const updated = isBackup
        ? await this.deps.store.update<ArchiveRecord>(record.id, ['QUEUED', 'CREATING'], set)
        : await this.deps.restores.update<ArchiveRestoreRecord>(record.id, ['QUEUED', 'RESTORING'], set);
      return updated ?? { ...record, taskArn };
    } catch (error) {
      const reason = `could not start the worker: ${(error as Error).message}`.slice(0, REASON_LENGTH);
      return (await this.fail(record, reason)) ?? record;
    }
  }

  /** Marks an open record FAILED and tells whoever listens; undefined when it had moved on. */
  private async fail(record: ArchiveRecord | ArchiveRestoreRecord, reason: string) {
    const at = this.now().toISOString();
    const set = { status: 'FAILED' as const, reason: reason.slice(0, REASON_LENGTH), updatedAt: at };
    const failed =
      'backupId' in record
        ? await this.deps.restores.update<ArchiveRestoreRecord>(record.id, ['QUEUED', 'RESTORING'], set)
        : await this.deps.store.update<ArchiveRecord>(record.id, ['QUEUED', 'CREATING'], set);
    if (!failed) return undefined;
    logger.warn('archive job failed', { id: record.id, reason });
    if ('backupId' in failed) {
      if (failed.drill) this.drillMetric(subjectOfRecord(failed), 'DrillFailures');
      await notifyRestore(this.deps.publisher, failed);
    } else {
      metrics.addMetric('ArchivesFailed', 'Count', 1);
      await notifyArchive(this.deps.publisher, failed);
    }
    return failed;
  }

  private async finishEarly(record: ArchiveRecord): Promise<ArchiveRecord> {
    await this.deps.store.create(record);
    logger.warn(`archive ${record.status.toLowerCase()}`, { id: record.id, reason: record.reason });
    metrics.addMetric('ArchivesSkipped', 'Count', 1);
    await notifyArchive(this.deps.publisher, record);
    return record;
  }

  /** Stops a worker task past its limit; says what became of it, for the record's reason. */
  private async stopTask(id: string, taskArn: string, why: string): Promise<string> {
    try {
      await this.deps.ecs.send(
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
  private async stoppedTasks(arns: string[]): Promise<Map<string, string>> {
    const stopped = new Map<string, string>();
    const cluster = arns[0] ? clusterOfTask(arns[0]) : undefined;
    for (let start = 0; cluster && start < arns.length; start += DESCRIBE_TASKS_LIMIT) {
      const { tasks, failures } = await this.deps.ecs.send(
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

  private archivesOf(subject: ArchiveSubject, kind: ArchiveKind): Promise<ArchiveRecord[]> {
    return archivesOf(this.deps.store, subject, kind);
  }

  private async newestAvailable(subject: ArchiveSubject, kind: ArchiveKind): Promise<AnyBackupRecord | undefined> {
    return (await this.archivesOf(subject, kind)).find((record) => record.status === 'AVAILABLE');
  }

  /** Minutes since the newest available archive or dump, and since the newest drill that passed: the alarms watch them. */
  private async publishAges(subject: ArchiveSubject, kind: ArchiveKind, drills: boolean) {
    const newest = await this.newestAvailable(subject, kind);
    const dimensions = archiveDimensions(subject);
    publishAgeMinutes(
      'NewestBackupAgeMinutes',
      dimensions,
      newest ? (newest.completedAt ?? newest.createdAt) : undefined,
      this.now(),
    );
    if (!drills) return;
    const passed = (await this.deps.restores.list(subjectKey(subject), { limit: 100 })).items.find(
      (record) => isArchiveRestore(record) && record.drill && record.availableAt !== undefined,
    );
    publishAgeMinutes('NewestDrillAgeMinutes', dimensions, passed?.availableAt, this.now());
  }

  private drillMetric(subject: ArchiveSubject, name: 'DrillFailures') {
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.setDefaultDimensions(archiveDimensions(subject));
    single.addMetric(name, 'Count', 1);
  }
}

/** The metric dimensions of a volume (`Volume`) or of a database's dumps (`Dump`): what the alarms select. */
export function archiveDimensions(subject: ArchiveSubject): Record<string, string> {
  return 'volume' in subject ? { Volume: subject.volume } : { Dump: subject.database };
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

export async function notifyArchive(publisher: Publisher, record: ArchiveRecord) {
  const subject = subjectOfRecord(record);
  const name = 'volume' in subject ? subject.volume : subject.database;
  await publisher.publish({
    subject: `Slipway: ${name} ${record.kind} ${record.status}`,
    type: 'backup.state',
    app: name,
    environment: record.kind,
    state: record.status,
    body: {
      backup: {
        id: record.id,
        kind: record.kind,
        ...subject,
        status: record.status,
        ...(record.reason ? { reason: record.reason } : {}),
        ...(record.manifestKey ? { manifestKey: record.manifestKey } : {}),
        ...(record.bytes !== undefined ? { bytes: record.bytes } : {}),
        ...(record.consistent !== undefined ? { consistent: record.consistent } : {}),
        ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
      },
    },
  });
}

export async function notifyRestore(publisher: Publisher, record: ArchiveRestoreRecord) {
  const subject = subjectOfRecord(record);
  const name = 'volume' in subject ? subject.volume : subject.database;
  await publisher.publish({
    subject: `Slipway: ${name} ${record.drill ? 'restore drill' : 'restore'} ${record.status}`,
    type: record.drill ? 'restore.drill' : 'restore.state',
    app: name,
    environment: record.kind,
    state: record.status,
    body: {
      restore: {
        id: record.id,
        kind: record.kind,
        ...subject,
        backupId: record.backupId,
        target: record.target,
        status: record.status,
        requestedBy: record.requestedBy,
        ...(record.reason ? { reason: record.reason } : {}),
        ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
      },
    },
  });
}
