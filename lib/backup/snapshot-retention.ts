import { paginateDescribeDBClusterSnapshots, paginateDescribeDBSnapshots, type Tag } from '@aws-sdk/client-rds';
import type { Operation } from '../aws/account-credentials';
import type { DatabaseConfig } from '../config/schema';
import {
  type BackupsContext,
  CREATED_BY,
  configuredDatabase,
  type SnapshotReadContext,
  snapshotsOnly,
  sourceOf,
} from './backups-context';
import { planRetention, type RetentionDecision, type SnapshotInfo } from './retention';
import { carryOutRetention } from './snapshot-outcome';
import { isVaultCopy } from './vault';

/** Retention of Slipway's snapshots of a database, in its region and in copyToRegion (in its account): previewed, or applied. */

/** What retention would delete now, and why, without deleting anything. */
export async function previewSnapshotRetention(
  ctx: SnapshotReadContext,
  database: string,
  operation: Operation,
): Promise<RetentionDecision> {
  const db = configuredDatabase(ctx, database);
  return planRetention(await snapshotsOf(ctx, database, db, operation), db.retention, ctx.now());
}

/** Deletes what retention says, in every region, recording each deletion; as `operation`'s session in another account. */
export async function applySnapshotRetention(
  ctx: BackupsContext,
  database: string,
  operation: Operation,
): Promise<RetentionDecision> {
  const db = configuredDatabase(ctx, database);
  const decision = planRetention(await snapshotsOf(ctx, database, db, operation), db.retention, ctx.now());
  const records = snapshotsOnly((await ctx.deps.store.list(database, { limit: 200 })).items);
  await carryOutRetention(ctx, database, decision, {
    rdsOf: (snapshot) => ctx.deps.rdsFor({ account: db.account, region: snapshot.region }, operation),
    type: sourceOf(db).type,
    recordOf: (snapshot) =>
      records.find(
        (candidate) =>
          candidate.snapshotIdentifier === snapshot.id &&
          candidate.region === snapshot.region &&
          !isVaultCopy(candidate),
      ),
  });
  return decision;
}

/** Slipway's snapshots of a database in its region and in copyToRegion, for retention. */
async function snapshotsOf(
  ctx: SnapshotReadContext,
  name: string,
  db: DatabaseConfig,
  operation: Operation,
): Promise<SnapshotInfo[]> {
  const source = sourceOf(db);
  const regions = [db.region ?? ctx.deps.region, ...(db.copyToRegion ? [db.copyToRegion] : [])];
  const found: SnapshotInfo[] = [];
  for (const region of regions) {
    const rds = ctx.deps.rdsFor({ account: db.account, region }, operation);
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
