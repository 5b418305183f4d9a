import { DescribeExportTasksCommand } from '@aws-sdk/client-rds';
import type { Home } from '../config/places';
import { logger } from '../observability';
import { publishAgeMinutes } from './ages';
import { type BackupsContext, configuredDatabase, errorName, notify, snapshotsOnly } from './backups-context';
import { backupOperation, rdsEventFromElsewhere, rdsOfBackup } from './database-places';
import { databaseOfSnapshot } from './identifiers';
import { type RdsSnapshotEvent, SNAPSHOT_CREATED_EVENTS } from './rds-events';
import type { BackupRecord } from './records';
import { queueCopyExport, queueFollowUps, RUNNING_EXPORTS, startQueued } from './snapshot-follow-ups';
import { describeSnapshotIn, retentionAfter, settleFrom } from './snapshot-outcome';
import { applySnapshotRetention } from './snapshot-retention';
import { isVaultCopy } from './vault';
import { settleVaultCopy } from './vault-copies';

/**
 * How snapshots, copies and exports end: RDS's snapshot events, and the reconciler that settles what
 * events left open, starts what is queued and publishes each database's backup age.
 */

/**
 * A snapshot event: the snapshot Slipway made is available; copies and exports follow. One that comes from
 * another account or region than its database's (and its copies') changes nothing.
 */
export async function onSnapshotEvent(
  ctx: BackupsContext,
  event: RdsSnapshotEvent,
  home: Home,
): Promise<{ applied: boolean; reason: string }> {
  if (!(SNAPSHOT_CREATED_EVENTS as readonly string[]).includes(event.detail.EventID)) {
    return { applied: false, reason: `${event.detail.EventID} is not a snapshot completion` };
  }
  const identifier = event.detail.SourceIdentifier;
  const database = databaseOfSnapshot(identifier);
  if (!database || !Object.hasOwn(ctx.deps.config.databases, database)) {
    return { applied: false, reason: `${identifier} is not a snapshot Slipway made` };
  }
  const db = configuredDatabase(ctx, database);
  const regions = [db.region ?? ctx.deps.region, ...(db.copyToRegion ? [db.copyToRegion] : [])];
  const elsewhere = rdsEventFromElsewhere(ctx.deps.config, event, database, regions, home);
  if (elsewhere !== undefined) return { applied: false, reason: elsewhere };
  const records = snapshotsOnly(await ctx.deps.store.withStatus(database, ['CREATING'], 50));
  const record = records.find(
    (candidate) =>
      candidate.snapshotIdentifier === identifier && candidate.region === event.region && !isVaultCopy(candidate),
  );
  if (!record) return { applied: false, reason: `no snapshot ${identifier} is being created` };
  const settled = await settleSnapshot(ctx, record);
  return {
    applied: settled !== undefined,
    reason: settled ? `${record.snapshotIdentifier} is ${settled.status}` : 'changed meanwhile',
  };
}

/**
 * The schedule: settles what events left open (snapshots, copies, exports), starts queued
 * copies and exports within their limits, and publishes each database's backup age.
 */
export async function reconcileBackups(ctx: BackupsContext): Promise<Array<{ id: string; outcome: string }>> {
  const outcomes: Array<{ id: string; outcome: string }> = [];
  for (const database of Object.keys(ctx.deps.config.databases)) {
    for (const record of snapshotsOnly(await ctx.deps.store.withStatus(database, ['CREATING']))) {
      try {
        const settled =
          record.kind === 'snapshot-export'
            ? await settleExport(ctx, record)
            : isVaultCopy(record)
              ? await settleVaultCopy(ctx, record)
              : record.kind === 'snapshot-copy'
                ? await settleCopy(ctx, record)
                : await settleSnapshot(ctx, record);
        outcomes.push({ id: record.id, outcome: settled?.status ?? 'still in progress' });
      } catch (error) {
        logger.error('backup could not be reconciled', { backupId: record.id, error: error as Error });
        outcomes.push({ id: record.id, outcome: `error: ${errorName(error)}` });
      }
    }
  }
  for (const started of await startQueued(ctx)) outcomes.push(started);
  await publishAges(ctx);
  return outcomes;
}

/** Reads a snapshot's state and moves its record on; undefined while it is still being made. */
async function settleSnapshot(ctx: BackupsContext, record: BackupRecord): Promise<BackupRecord | undefined> {
  const described = await describeSnapshotIn(rdsOfBackup(ctx, record), record.source.type, record.snapshotIdentifier);
  const settled = await settleFrom(ctx, record, described, { noun: 'snapshot', metric: 'Snapshots' });
  if (settled?.status === 'AVAILABLE' && settled.kind !== 'snapshot-copy') {
    await queueFollowUps(ctx, settled);
    await retentionAfter(settled.database, () =>
      applySnapshotRetention(ctx, settled.database, backupOperation(settled)),
    );
  }
  if (settled?.status === 'AVAILABLE' && settled.kind === 'snapshot-copy') await queueCopyExport(ctx, settled);
  return settled;
}

async function settleCopy(ctx: BackupsContext, record: BackupRecord) {
  return settleSnapshot(ctx, record);
}

async function settleExport(ctx: BackupsContext, record: BackupRecord) {
  const task = (
    await rdsOfBackup(ctx, record).send(
      new DescribeExportTasksCommand({ ExportTaskIdentifier: record.snapshotIdentifier }),
    )
  ).ExportTasks?.[0];
  // Uppercase in the ExportTask reference; some emulators answer lowercase, as DescribeExportTasks' filter values are.
  const status = (task?.Status ?? 'MISSING').toUpperCase();
  if (RUNNING_EXPORTS.includes(status)) return undefined;
  const at = ctx.now();
  const complete = status === 'COMPLETE';
  const settled = await ctx.deps.store.update<BackupRecord>(record.id, ['CREATING'], {
    status: complete ? 'AVAILABLE' : 'FAILED',
    ...(complete ? {} : { reason: `the export ended ${status}${task?.FailureCause ? `: ${task.FailureCause}` : ''}` }),
    ...(task?.TotalExtractedDataInGB !== undefined ? { sizeGiB: task.TotalExtractedDataInGB } : {}),
    completedAt: at.toISOString(),
    durationSeconds: Math.round((at.getTime() - Date.parse(record.createdAt)) / 1000),
    updatedAt: at.toISOString(),
  });
  if (settled) await notify(ctx, settled);
  return settled;
}

/** Minutes since each database's newest available snapshot: the staleness alarm watches this. */
async function publishAges(ctx: BackupsContext) {
  for (const [database, db] of Object.entries(ctx.deps.config.databases)) {
    const region = db.region ?? ctx.deps.region;
    const newest = snapshotsOnly((await ctx.deps.store.list(database, { limit: 50 })).items).find(
      (record) => record.status === 'AVAILABLE' && record.kind !== 'snapshot-export' && record.region === region,
    );
    publishAgeMinutes(
      'NewestBackupAgeMinutes',
      { Database: database },
      newest ? (newest.completedAt ?? newest.createdAt) : undefined,
      ctx.now(),
    );
  }
}
