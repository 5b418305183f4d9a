import {
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
} from '@aws-sdk/client-rds';
import { UpstreamFailed } from '../errors';
import { logger, metrics } from '../observability';
import { publishAgeMinutes } from './ages';
import { type BackupsContext, errorName, notify, snapshotsOnly } from './backups-context';
import { databaseOfSnapshot } from './identifiers';
import { type RdsSnapshotEvent, SNAPSHOT_CREATED_EVENTS } from './rds-events';
import { snapshotProgress } from './rds-states';
import type { BackupRecord } from './records';
import { queueFollowUps, startQueued } from './snapshot-follow-ups';
import { applySnapshotRetention } from './snapshot-retention';
import { isVaultCopy } from './vault';
import { settleVaultCopy } from './vault-copies';

/**
 * How snapshots, copies and exports end: RDS's snapshot events, and the reconciler that settles what
 * events left open, starts what is queued and publishes each database's backup age.
 */

/** A snapshot event: the snapshot Slipway made is available; copies and exports follow. */
export async function onSnapshotEvent(
  ctx: BackupsContext,
  event: RdsSnapshotEvent,
): Promise<{ applied: boolean; reason: string }> {
  if (!(SNAPSHOT_CREATED_EVENTS as readonly string[]).includes(event.detail.EventID)) {
    return { applied: false, reason: `${event.detail.EventID} is not a snapshot completion` };
  }
  const identifier = event.detail.SourceIdentifier;
  const database = databaseOfSnapshot(identifier);
  if (!database || !Object.hasOwn(ctx.deps.config.databases, database)) {
    return { applied: false, reason: `${identifier} is not a snapshot Slipway made` };
  }
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
  const described = await describeSnapshot(ctx, record.region, record.source.type, record.snapshotIdentifier);
  const progress = snapshotProgress(described.status);
  if (progress === 'in-progress') return undefined;
  const at = ctx.now();
  const available = progress === 'available';
  const settled = await ctx.deps.store.update<BackupRecord>(record.id, ['CREATING'], {
    status: available ? 'AVAILABLE' : 'FAILED',
    ...(available ? {} : { reason: `RDS reports the snapshot ${described.status}` }),
    ...(described.arn ? { snapshotArn: described.arn } : {}),
    ...(described.sizeGiB !== undefined ? { sizeGiB: described.sizeGiB } : {}),
    completedAt: at.toISOString(),
    durationSeconds: Math.round((at.getTime() - Date.parse(record.createdAt)) / 1000),
    updatedAt: at.toISOString(),
  });
  if (!settled) return undefined;
  metrics.addMetric(available ? 'SnapshotsAvailable' : 'SnapshotsFailed', 'Count', 1);
  await notify(ctx, settled);
  if (available && settled.kind !== 'snapshot-copy') {
    await queueFollowUps(ctx, settled);
    try {
      await applySnapshotRetention(ctx, settled.database);
    } catch (error) {
      // Retention is housekeeping: the snapshot is available whether or not it ran; the next one retries.
      logger.warn('retention did not run', { database: settled.database, error: error as Error });
      metrics.addMetric('RetentionFailures', 'Count', 1);
    }
  }
  return settled;
}

async function describeSnapshot(ctx: BackupsContext, region: string, type: 'instance' | 'cluster', identifier: string) {
  const rds = ctx.deps.rdsFor(region);
  try {
    if (type === 'cluster') {
      const snapshot = (
        await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier }))
      ).DBClusterSnapshots?.[0];
      return {
        status: snapshot?.Status ?? 'unknown',
        arn: snapshot?.DBClusterSnapshotArn,
        sizeGiB: snapshot?.AllocatedStorage,
      };
    }
    const snapshot = (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: identifier })))
      .DBSnapshots?.[0];
    return {
      status: snapshot?.Status ?? 'unknown',
      arn: snapshot?.DBSnapshotArn,
      sizeGiB: snapshot?.AllocatedStorage,
    };
  } catch (error) {
    const name = errorName(error);
    if (name === 'DBSnapshotNotFoundFault' || name === 'DBClusterSnapshotNotFoundFault') {
      return { status: 'missing', arn: undefined, sizeGiB: undefined };
    }
    throw new UpstreamFailed(`RDS describe of snapshot ${identifier} failed (${name})`, { cause: error });
  }
}

async function settleCopy(ctx: BackupsContext, record: BackupRecord) {
  return settleSnapshot(ctx, record);
}

async function settleExport(ctx: BackupsContext, record: BackupRecord) {
  const task = (
    await ctx.deps
      .rdsFor(record.region)
      .send(new DescribeExportTasksCommand({ ExportTaskIdentifier: record.snapshotIdentifier }))
  ).ExportTasks?.[0];
  const status = task?.Status ?? 'MISSING';
  if (status === 'STARTING' || status === 'IN_PROGRESS' || status === 'CANCELING') return undefined;
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
  for (const database of Object.keys(ctx.deps.config.databases)) {
    const newest = snapshotsOnly((await ctx.deps.store.list(database, { limit: 50 })).items).find(
      (record) =>
        record.status === 'AVAILABLE' && record.kind !== 'snapshot-export' && record.region === ctx.deps.region,
    );
    publishAgeMinutes(
      'NewestBackupAgeMinutes',
      { Database: database },
      newest ? (newest.completedAt ?? newest.createdAt) : undefined,
      ctx.now(),
    );
  }
}
