import type { SlipwayConfig } from '../config/schema';
import { NotFound, Unprocessable } from '../errors';
import type { BackupStore } from '../store/backups';
import { type ArchiveKind, type ArchiveRecord, isArchive, volumeSubject, type WorkerRunner } from './records';
import { planRetention, type RetentionDecision, type RetentionPolicy, type SnapshotInfo } from './retention';

/**
 * What an archive subject's config says and what its retention would let go, from the config and the
 * state table alone: the archives use case builds on it, and the backups listing previews retention
 * with it without the worker, S3 or ECS.
 */

export type ArchiveSubject = { volume: string } | { database: string };

// A function stops at 15 minutes; a record still open a minute later has lost its worker.
const LAMBDA_LIMIT_MINUTES = 16;
const DEFAULT_TASK_LIMIT_MINUTES = 360;

export const subjectKey = (subject: ArchiveSubject) =>
  'volume' in subject ? volumeSubject(subject.volume) : subject.database;

/** What the subject's config says: how it runs, how long it may, what retention keeps. */
export function archiveSettings(config: SlipwayConfig, subject: ArchiveSubject) {
  const worker = config.worker;
  const taskMinutes = worker?.timeoutMinutes ?? DEFAULT_TASK_LIMIT_MINUTES;
  if ('volume' in subject) {
    const volume = Object.hasOwn(config.volumes, subject.volume) ? config.volumes[subject.volume] : undefined;
    if (!volume) throw new NotFound(`no volume named ${subject.volume}`, { details: { volume: subject.volume } });
    return {
      kind: 'volume-archive' as ArchiveKind,
      runner: volume.runner as WorkerRunner,
      limitMinutes: volume.runner === 'lambda' ? LAMBDA_LIMIT_MINUTES : taskMinutes,
      retention: volume.retention as RetentionPolicy,
      prefix: `volumes/${subject.volume}`,
      compression: volume.compression,
      sqlite: volume.sqlite,
      credentialsSecret: undefined,
      drill: volume.restoreDrill,
    };
  }
  const db = Object.hasOwn(config.databases, subject.database) ? config.databases[subject.database] : undefined;
  if (!db) throw new NotFound(`no database named ${subject.database}`, { details: { database: subject.database } });
  if (!db.dump) {
    throw new Unprocessable(`database ${subject.database} has no dump section in the config`, {
      details: { database: subject.database },
    });
  }
  return {
    kind: 'postgres-dump' as ArchiveKind,
    // pg_dump is not in the Lambda runtime, and real dumps outlive 15 minutes.
    runner: 'ecs' as WorkerRunner,
    limitMinutes: taskMinutes,
    retention: db.dump.retention as RetentionPolicy,
    prefix: `dumps/${subject.database}`,
    compression: undefined,
    sqlite: undefined,
    credentialsSecret: db.dump.credentialsSecret,
    drill: db.dump.restoreDrill,
  };
}

/** Every archive or dump of one kind recorded for the subject. */
export async function archivesOf(
  store: Pick<BackupStore, 'list'>,
  subject: ArchiveSubject,
  kind: ArchiveKind,
): Promise<ArchiveRecord[]> {
  const found: ArchiveRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(subjectKey(subject), { limit: 100, ...(cursor ? { cursor } : {}) });
    found.push(...page.items.filter((record): record is ArchiveRecord => isArchive(record) && record.kind === kind));
    cursor = page.cursor;
  } while (cursor);
  return found;
}

/** Only what holds objects takes part: failed, skipped and deleted records stay as history. */
export function retentionCandidates(records: ArchiveRecord[]): SnapshotInfo[] {
  return records.flatMap((record) =>
    record.status === 'AVAILABLE' || record.status === 'CREATING' || record.status === 'QUEUED'
      ? [
          {
            id: record.id,
            createdAt: record.createdAt,
            status: record.status === 'AVAILABLE' ? 'available' : 'creating',
            createdBySlipway: true,
            region: record.bucket,
          },
        ]
      : [],
  );
}

/** What retention would delete now, and why, without deleting anything. */
export async function previewArchiveRetention(
  deps: { config: SlipwayConfig; store: Pick<BackupStore, 'list'>; now: () => Date },
  subject: ArchiveSubject,
): Promise<RetentionDecision> {
  const settings = archiveSettings(deps.config, subject);
  return planRetention(
    retentionCandidates(await archivesOf(deps.store, subject, settings.kind)),
    settings.retention,
    deps.now(),
  );
}
