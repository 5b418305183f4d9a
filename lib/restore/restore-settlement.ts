import {
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { publishAgeMinutes } from '../backup/ages';
import { rdsEventFromElsewhere } from '../backup/database-places';
import { restoreTargetProgress } from '../backup/rds-states';
import type { RestoreRecord } from '../backup/records';
import type { EventOrigin, Home } from '../config/places';
import { logger } from '../observability';
import {
  countDrill,
  errorName,
  NOT_FOUND,
  notify,
  type RestoresContext,
  rdsOfRestore,
  rdsOnly,
  writerIdentifier,
} from './restores-context';
import { removeShare, shareOutstanding } from './vault-restore-shares';

/**
 * Following restores and drills until their target is available (or failed), by RDS event and by the
 * reconciler, with the measured duration; a drill's scratch copy deleted whatever its outcome.
 */

/**
 * Follows restores and drills until their target is available (or failed), cleans up drills, and
 * reports how long ago each drilled database's last drill passed.
 */
export async function reconcileRestores(ctx: RestoresContext): Promise<Array<{ id: string; outcome: string }>> {
  const outcomes: Array<{ id: string; outcome: string }> = [];
  for (const [database, db] of Object.entries(ctx.deps.config.databases)) {
    const recent = rdsOnly((await ctx.deps.store.list(database, { limit: 100 })).items);
    if (db.restoreDrill) {
      const passed = recent.find((record) => record.drill && record.availableAt !== undefined);
      publishAgeMinutes('NewestDrillAgeMinutes', { Database: database }, passed?.availableAt, ctx.now());
    }
    const records = recent.filter(
      (record) => record.status === 'RESTORING' || (record.drill && !record.deletedAt) || shareOutstanding(record),
    );
    for (const record of records) {
      try {
        outcomes.push({ id: record.id, outcome: await settle(ctx, record, recent) });
      } catch (error) {
        logger.error('restore could not be reconciled', { restoreId: record.id, error: error as Error });
        outcomes.push({ id: record.id, outcome: `error: ${errorName(error)}` });
      }
    }
  }
  return outcomes;
}

/** An RDS instance or cluster event, by the identifier it names and where EventBridge says it comes from. */
export interface TargetEvent extends EventOrigin {
  identifier: string;
}

/**
 * An RDS instance or cluster event about a restore target: settle it now rather than at the next reconcile.
 * One that comes from another account or region than the restore's changes nothing.
 */
export async function onTargetEvent(ctx: RestoresContext, event: TargetEvent, home: Home): Promise<string> {
  const { identifier } = event;
  for (const database of Object.keys(ctx.deps.config.databases)) {
    const record = rdsOnly((await ctx.deps.store.list(database, { limit: 100 })).items).find(
      (candidate) =>
        candidate.status === 'RESTORING' &&
        // The control plane's RDS events are of its own account: a vault restore, there too (vaultShare), is settled
        // by the reconciler, whose role may remove the share.
        candidate.account === undefined &&
        candidate.vaultShare === undefined &&
        (candidate.targetIdentifier === identifier || writerIdentifier(candidate.targetIdentifier) === identifier),
    );
    if (!record) continue;
    const elsewhere = rdsEventFromElsewhere(ctx.deps.config, event, database, [record.region], home);
    if (elsewhere !== undefined) return `not applied: ${elsewhere}`;
    return settle(ctx, record, []);
  }
  return 'not a restore Slipway follows';
}

/** `others`: the database's recent restores, of which one may still need a vault copy's share. */
async function settle(ctx: RestoresContext, record: RestoreRecord, others: RestoreRecord[]): Promise<string> {
  if (record.status !== 'RESTORING') {
    // A vault copy's restore (never a drill) whose share was not yet removed.
    if (shareOutstanding(record)) return removeShare(ctx, record, others);
    // A drill whose scratch copy was not yet seen gone.
    return `drill ${record.status === 'AVAILABLE' ? 'passed' : 'failed'}; ${await cleanUpDrill(ctx, record)}`;
  }
  const status = await targetStatus(ctx, record);
  const progress = restoreTargetProgress(status);
  const at = ctx.now();
  if (progress === 'available') {
    const done = await ctx.deps.store.update<RestoreRecord>(record.id, ['RESTORING'], {
      status: 'AVAILABLE',
      availableAt: at.toISOString(),
      durationSeconds: Math.round((at.getTime() - Date.parse(record.createdAt)) / 1000),
      updatedAt: at.toISOString(),
    });
    if (!done) return 'changed meanwhile';
    await notify(ctx, done);
    if (shareOutstanding(done)) return `AVAILABLE; ${await removeShare(ctx, done, others)}`;
    if (!done.drill) return 'AVAILABLE';
    countDrill(done, true);
    return `drill passed; ${await cleanUpDrill(ctx, done)}`;
  }
  const limit = ctx.deps.config.databases[record.database]?.restoreDrill?.timeoutMinutes ?? 120;
  const timedOut = record.drill && at.getTime() - Date.parse(record.createdAt) > limit * 60_000;
  if (progress === 'in-progress' && !timedOut) return `still ${status}`;
  const reason = progress === 'failed' ? `RDS reports the target ${status}` : `not available after ${limit} minutes`;
  const done = await ctx.deps.store.update<RestoreRecord>(record.id, ['RESTORING'], {
    status: 'FAILED',
    reason,
    updatedAt: at.toISOString(),
  });
  if (!done) return 'changed meanwhile';
  await notify(ctx, done);
  if (shareOutstanding(done)) return `FAILED; ${await removeShare(ctx, done, others)}`;
  if (!done.drill) return 'FAILED';
  countDrill(done, false);
  return `drill failed; ${await cleanUpDrill(ctx, done)}`;
}

/**
 * Deletes a drill's scratch copy, whatever the drill's outcome, and records it deleted only once RDS
 * no longer knows it: a delete RDS refuses for the target's state (still creating, already deleting)
 * is tried again at the next reconcile, so no scratch database is left behind.
 */
async function cleanUpDrill(ctx: RestoresContext, record: RestoreRecord): Promise<string> {
  // An Aurora scratch has the writer Slipway created; deleting a Multi-AZ DB cluster deletes its instances.
  const parts: Array<{ kind: 'instance' | 'cluster'; identifier: string }> =
    record.source.type === 'instance'
      ? [{ kind: 'instance', identifier: record.targetIdentifier }]
      : [
          ...(record.multiAZCluster
            ? []
            : [{ kind: 'instance' as const, identifier: writerIdentifier(record.targetIdentifier) }]),
          { kind: 'cluster', identifier: record.targetIdentifier },
        ];
  const rds = rdsOfRestore(ctx, record);
  let gone = true;
  for (const part of parts) {
    try {
      if ((await deleteScratch(rds, part.kind, part.identifier)) !== 'gone') gone = false;
    } catch (error) {
      logger.error('drill scratch database not deleted', { restoreId: record.id, error: error as Error });
      return 'scratch not deleted yet';
    }
  }
  if (!gone) return 'scratch being deleted';
  await ctx.deps.store.update<RestoreRecord>(record.id, ['AVAILABLE', 'FAILED'], {
    deletedAt: ctx.now().toISOString(),
    updatedAt: ctx.now().toISOString(),
  });
  return 'scratch deleted';
}

/** Asks RDS to delete a scratch instance or cluster: `gone` once RDS no longer knows it. */
async function deleteScratch(
  rds: RDSClient,
  kind: 'instance' | 'cluster',
  identifier: string,
): Promise<'gone' | 'deleting'> {
  try {
    if (kind === 'instance') {
      await rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: identifier,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      );
    } else {
      await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: identifier, SkipFinalSnapshot: true }));
    }
    return 'deleting';
  } catch (error) {
    const name = errorName(error);
    if (NOT_FOUND.has(name)) return 'gone';
    // Refused for its state (still creating, already deleting): asked again at the next reconcile.
    if (name === 'InvalidDBInstanceStateFault' || name === 'InvalidDBClusterStateFault') return 'deleting';
    throw error;
  }
}

async function targetStatus(ctx: RestoresContext, record: RestoreRecord): Promise<string> {
  const rds = rdsOfRestore(ctx, record);
  try {
    if (record.multiAZCluster) {
      const cluster = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: record.targetIdentifier })))
        .DBClusters?.[0];
      return cluster?.Status ?? 'missing';
    }
    const identifier =
      record.source.type === 'cluster' ? writerIdentifier(record.targetIdentifier) : record.targetIdentifier;
    const instance = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })))
      .DBInstances?.[0];
    return instance?.DBInstanceStatus ?? 'missing';
  } catch (error) {
    if (NOT_FOUND.has(errorName(error))) return 'missing';
    throw error;
  }
}
