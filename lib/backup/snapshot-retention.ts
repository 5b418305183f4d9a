import {
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  type Tag,
} from '@aws-sdk/client-rds';
import type { AuditOutcome } from '../audit/trail';
import type { DatabaseConfig } from '../config/schema';
import { logger, metrics } from '../observability';
import {
  type BackupsContext,
  CREATED_BY,
  configuredDatabase,
  errorName,
  type SnapshotReadContext,
  snapshotsOnly,
  sourceOf,
} from './backups-context';
import type { BackupRecord } from './records';
import { planRetention, type RetentionDecision, type SnapshotInfo } from './retention';
import { retentionDeletion } from './retention-audit';
import { isVaultCopy } from './vault';

/** Retention of Slipway's snapshots of a database, in its region and in copyToRegion: previewed, or applied. */

/** What retention would delete now, and why, without deleting anything. */
export async function previewSnapshotRetention(ctx: SnapshotReadContext, database: string): Promise<RetentionDecision> {
  const db = configuredDatabase(ctx, database);
  return planRetention(await snapshotsOf(ctx, database, db), db.retention, ctx.now());
}

/** Deletes what retention says, in every region, recording each deletion. */
export async function applySnapshotRetention(ctx: BackupsContext, database: string): Promise<RetentionDecision> {
  const db = configuredDatabase(ctx, database);
  const decision = planRetention(await snapshotsOf(ctx, database, db), db.retention, ctx.now());
  const source = sourceOf(db);
  const records = snapshotsOnly((await ctx.deps.store.list(database, { limit: 200 })).items);
  for (const { snapshot, reason } of decision.delete) {
    const rds = ctx.deps.rdsFor(snapshot.region);
    try {
      if (source.type === 'cluster') {
        await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshot.id }));
      } else {
        await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot.id }));
      }
    } catch (error) {
      logger.warn('a snapshot retention would delete was not deleted', {
        snapshot: snapshot.id,
        error: error as Error,
      });
      await auditDeletion(ctx, database, snapshot, { result: 'failed', code: errorName(error), detail: reason });
      continue;
    }
    const record = records.find(
      (candidate) =>
        candidate.snapshotIdentifier === snapshot.id && candidate.region === snapshot.region && !isVaultCopy(candidate),
    );
    if (record) {
      // RDS's view decides: a record whose completion was never seen is deleted all the same.
      await ctx.deps.store.update<BackupRecord>(record.id, ['AVAILABLE', 'FAILED', 'CREATING'], {
        status: 'DELETED',
        deletedAt: ctx.now().toISOString(),
        reason: `retention: ${reason}`,
        updatedAt: ctx.now().toISOString(),
      });
    }
    logger.info('snapshot deleted by retention', {
      database,
      snapshot: snapshot.id,
      region: snapshot.region,
      reason,
    });
    metrics.addMetric('SnapshotsDeleted', 'Count', 1);
    await auditDeletion(ctx, database, snapshot, { result: 'succeeded', code: 'DELETED', detail: reason });
  }
  return decision;
}

function auditDeletion(
  ctx: BackupsContext,
  database: string,
  snapshot: { id: string; region: string },
  outcome: AuditOutcome,
) {
  return ctx.deps.audit.record(
    retentionDeletion({ database, snapshot: snapshot.id, region: snapshot.region }, outcome),
  );
}

/** Slipway's snapshots of a database in its region and in copyToRegion, for retention. */
async function snapshotsOf(ctx: SnapshotReadContext, name: string, db: DatabaseConfig): Promise<SnapshotInfo[]> {
  const source = sourceOf(db);
  const regions = [ctx.deps.region, ...(db.copyToRegion ? [db.copyToRegion] : [])];
  const found: SnapshotInfo[] = [];
  for (const region of regions) {
    const rds = ctx.deps.rdsFor(region);
    const byTags = (tags: Tag[] | undefined) =>
      (tags ?? []).some((tag) => tag.Key === 'slipway:created-by' && tag.Value === CREATED_BY) &&
      (tags ?? []).some((tag) => tag.Key === 'slipway:database' && tag.Value === name);
    if (source.type === 'cluster') {
      for await (const page of paginateDescribeDBClusterSnapshots(
        { client: rds },
        { DBClusterIdentifier: source.identifier, SnapshotType: 'manual' },
      )) {
        for (const snapshot of page.DBClusterSnapshots ?? []) {
          found.push({
            id: snapshot.DBClusterSnapshotIdentifier ?? '',
            // An unknown time is kept by retention ("creation time unknown"), never taken for the oldest.
            createdAt: snapshot.SnapshotCreateTime?.toISOString() ?? '',
            status: snapshot.Status ?? 'unknown',
            createdBySlipway: byTags(snapshot.TagList),
            region,
          });
        }
      }
    } else {
      for await (const page of paginateDescribeDBSnapshots(
        { client: rds },
        { DBInstanceIdentifier: source.identifier, SnapshotType: 'manual' },
      )) {
        for (const snapshot of page.DBSnapshots ?? []) {
          found.push({
            id: snapshot.DBSnapshotIdentifier ?? '',
            // An unknown time is kept by retention ("creation time unknown"), never taken for the oldest.
            createdAt: snapshot.SnapshotCreateTime?.toISOString() ?? '',
            status: snapshot.Status ?? 'unknown',
            createdBySlipway: byTags(snapshot.TagList),
            region,
          });
        }
      }
    }
  }
  return found;
}
