import {
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { AuditOutcome } from '../audit/trail';
import { UpstreamFailed } from '../errors';
import { logger, metrics } from '../observability';
import { type BackupsContext, errorName, notify } from './backups-context';
import { snapshotProgress } from './rds-states';
import type { BackupRecord } from './records';
import type { RetentionDecision } from './retention';
import { retentionDeletion } from './retention-audit';

/**
 * What a snapshot, a copy and a vault copy share once RDS has made them: reading their state where they are, moving
 * their record on, and carrying out the deletions retention decides, in whichever account the RDS client acts.
 */

export interface DescribedSnapshot {
  /** RDS's status, or `missing` when RDS no longer knows it. */
  status: string;
  arn?: string | undefined;
  sizeGiB?: number | undefined;
}

/** A snapshot's state, as the RDS client's account sees it. */
export async function describeSnapshotIn(
  rds: RDSClient,
  type: 'instance' | 'cluster',
  identifier: string,
): Promise<DescribedSnapshot> {
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
    return { status: snapshot?.Status ?? 'unknown', arn: snapshot?.DBSnapshotArn, sizeGiB: snapshot?.AllocatedStorage };
  } catch (error) {
    const name = errorName(error);
    if (name === 'DBSnapshotNotFoundFault' || name === 'DBClusterSnapshotNotFoundFault') return { status: 'missing' };
    throw new UpstreamFailed(`RDS describe of snapshot ${identifier} failed (${name})`, { cause: error });
  }
}

/**
 * Moves a record in flight on from what RDS says, counting it under `metric` (Available / Failed) and telling
 * whoever listens; undefined while it is still being made, or when it changed meanwhile.
 */
export async function settleFrom(
  ctx: BackupsContext,
  record: BackupRecord,
  described: DescribedSnapshot,
  what: { noun: string; metric: string },
): Promise<BackupRecord | undefined> {
  const progress = snapshotProgress(described.status);
  if (progress === 'in-progress') return undefined;
  const at = ctx.now();
  const available = progress === 'available';
  const settled = await ctx.deps.store.update<BackupRecord>(record.id, ['CREATING'], {
    status: available ? 'AVAILABLE' : 'FAILED',
    ...(available ? {} : { reason: `RDS reports the ${what.noun} ${described.status}` }),
    ...(described.arn ? { snapshotArn: described.arn } : {}),
    ...(described.sizeGiB !== undefined ? { sizeGiB: described.sizeGiB } : {}),
    completedAt: at.toISOString(),
    durationSeconds: Math.round((at.getTime() - Date.parse(record.createdAt)) / 1000),
    updatedAt: at.toISOString(),
  });
  if (!settled) return undefined;
  metrics.addMetric(`${what.metric}${available ? 'Available' : 'Failed'}`, 'Count', 1);
  await notify(ctx, settled);
  return settled;
}

/** Runs retention after a backup became available: housekeeping, which the backup does not wait on; the next one retries. */
export async function retentionAfter(database: string, apply: () => Promise<unknown>): Promise<void> {
  try {
    await apply();
  } catch (error) {
    logger.warn('retention did not run', { database, error: error as Error });
    metrics.addMetric('RetentionFailures', 'Count', 1);
  }
}

/** Where retention deletes: the RDS client of each snapshot's place, and the records that may stand for them. */
export interface RetentionPlace {
  rdsOf: (snapshot: { region: string }) => RDSClient;
  type: 'instance' | 'cluster';
  /** The records of the snapshots judged; RDS's view decides, so one whose completion was never seen goes too. */
  recordOf: (snapshot: { id: string; region: string }) => BackupRecord | undefined;
  /** The account (its name under accounts) the deletions are in; absent: the control plane's own. */
  account?: string | undefined;
}

/** Deletes what retention decided, recording each deletion (and each refusal) in the audit trail. */
export async function carryOutRetention(
  ctx: BackupsContext,
  database: string,
  decision: RetentionDecision,
  place: RetentionPlace,
): Promise<void> {
  const audit = (snapshot: { id: string; region: string }, outcome: AuditOutcome) =>
    ctx.deps.audit.record(
      retentionDeletion(
        {
          database,
          snapshot: snapshot.id,
          region: snapshot.region,
          ...(place.account === undefined ? {} : { account: place.account }),
        },
        outcome,
      ),
    );
  for (const { snapshot, reason } of decision.delete) {
    const rds = place.rdsOf(snapshot);
    try {
      if (place.type === 'cluster') {
        await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshot.id }));
      } else {
        await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot.id }));
      }
    } catch (error) {
      logger.warn('a snapshot retention would delete was not deleted', {
        snapshot: snapshot.id,
        account: place.account,
        error: error as Error,
      });
      await audit(snapshot, { result: 'failed', code: errorName(error), detail: reason });
      continue;
    }
    const record = place.recordOf(snapshot);
    if (record) {
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
      account: place.account,
      reason,
    });
    metrics.addMetric(place.account === undefined ? 'SnapshotsDeleted' : 'VaultCopiesDeleted', 'Count', 1);
    await audit(snapshot, { result: 'succeeded', code: 'DELETED', detail: reason });
  }
}
