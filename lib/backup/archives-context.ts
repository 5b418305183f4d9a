import { randomUUID } from 'node:crypto';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AuditRecorder } from '../audit/trail';
import type { SlipwayConfig } from '../config/schema';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { BackupStore, RestoreStore } from '../store/backups';
import type { WorkerLauncher } from '../worker/launch';
import { type ArchiveSubject, archivesOf } from './archive-retention';
import type { AnyBackupRecord, ArchiveKind, ArchiveRecord, ArchiveRestoreRecord } from './records';

/**
 * What every part of the archives use case shares: its ports, its clock and ids, how a subject and
 * its records are named, how an open job fails, and the notification each change of one sends.
 */

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

/** A context holding the ports `K` only: what a part of the use case runs on, wired without the others' clients. */
export interface ArchivesContext<K extends keyof ArchivesDeps = keyof ArchivesDeps> {
  deps: Pick<ArchivesDeps, K>;
  now: () => Date;
  newBackupId: () => string;
  newRestoreId: () => string;
}

/** What starts jobs (take, restore, drill): the launcher, never S3 nor a task to stop. */
export type ArchiveJobsContext = ArchivesContext<Exclude<keyof ArchivesDeps, 's3' | 'ecs'>>;

/** What follows jobs to their end and applies retention: ECS tasks and S3 objects, never the launcher. */
export type ArchiveSettlementContext = ArchivesContext<Exclude<keyof ArchivesDeps, 'launcher' | 'bucket'>>;

export function archivesContext<K extends keyof ArchivesDeps>(
  deps: Pick<ArchivesDeps, K | 'now' | 'newBackupId' | 'newRestoreId'>,
): ArchivesContext<K> {
  return {
    deps,
    now: deps.now ?? (() => new Date()),
    newBackupId: deps.newBackupId ?? (() => `bkp-${randomUUID()}`),
    newRestoreId: deps.newRestoreId ?? (() => `rst-${randomUUID()}`),
  };
}

export const REASON_LENGTH = 500;

export const describeSubject = (subject: ArchiveSubject) =>
  'volume' in subject ? `volume ${subject.volume}` : `database ${subject.database}`;
export const subjectOfRecord = (record: { volume?: string; database?: string }): ArchiveSubject =>
  record.volume !== undefined ? { volume: record.volume } : { database: record.database as string };

export async function newestAvailable(
  store: BackupStore,
  subject: ArchiveSubject,
  kind: ArchiveKind,
): Promise<AnyBackupRecord | undefined> {
  return (await archivesOf(store, subject, kind)).find((record) => record.status === 'AVAILABLE');
}

/** Marks an open record FAILED and tells whoever listens; undefined when it had moved on. */
export async function failJob(
  ctx: ArchivesContext<'store' | 'restores' | 'publisher'>,
  record: ArchiveRecord | ArchiveRestoreRecord,
  reason: string,
) {
  const at = ctx.now().toISOString();
  const set = { status: 'FAILED' as const, reason: reason.slice(0, REASON_LENGTH), updatedAt: at };
  const failed =
    'backupId' in record
      ? await ctx.deps.restores.update<ArchiveRestoreRecord>(record.id, ['QUEUED', 'RESTORING'], set)
      : await ctx.deps.store.update<ArchiveRecord>(record.id, ['QUEUED', 'CREATING'], set);
  if (!failed) return undefined;
  logger.warn('archive job failed', { id: record.id, reason });
  if ('backupId' in failed) {
    if (failed.drill) drillMetric(subjectOfRecord(failed), 'DrillFailures');
    await notifyRestore(ctx.deps.publisher, failed);
  } else {
    metrics.addMetric('ArchivesFailed', 'Count', 1);
    await notifyArchive(ctx.deps.publisher, failed);
  }
  return failed;
}

export function drillMetric(subject: ArchiveSubject, name: 'DrillFailures') {
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  single.setDefaultDimensions(archiveDimensions(subject));
  single.addMetric(name, 'Count', 1);
}

/** The metric dimensions of a volume (`Volume`) or of a database's dumps (`Dump`): what the alarms select. */
export function archiveDimensions(subject: ArchiveSubject): Record<string, string> {
  return 'volume' in subject ? { Volume: subject.volume } : { Dump: subject.database };
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
