import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  type RDSClient,
  type Tag,
} from '@aws-sdk/client-rds';
import { audited, statusOutcome } from '../audit/trail';
import { UpstreamFailed } from '../errors';
import { logger, metrics } from '../observability';
import { type BackupsContext, CREATED_BY, configuredDatabase, errorName, notify, sourceOf } from './backups-context';
import { backupPrincipal } from './database-places';
import { snapshotName } from './identifiers';
import { maySnapshot } from './rds-states';
import type { BackupRecord } from './records';

/** Taking a snapshot: skipped when the source is not available, refused when the manual snapshot quota is full. */

const QUOTA_WARNING = 0.8;

/** Takes a snapshot now: skipped with the reason when the source is not available, refused when the quota is full. */
export async function takeSnapshot(ctx: BackupsContext, name: string, trigger: string): Promise<BackupRecord> {
  // A request's backup is audited by its route (trigger `api:<principal>`).
  if (trigger.startsWith('api:')) return takeNow(ctx, name, trigger);
  return audited(
    ctx.deps.audit,
    { actor: trigger, action: 'backup.take', target: { database: name } },
    () => takeNow(ctx, name, trigger),
    (record) => ({ target: { backupId: record.id, kind: record.kind }, outcome: statusOutcome(record) }),
  );
}

async function takeNow(ctx: BackupsContext, name: string, trigger: string): Promise<BackupRecord> {
  const db = configuredDatabase(ctx, name);
  const source = sourceOf(db);
  const region = db.region ?? ctx.deps.region;
  const id = ctx.newId();
  const rds = ctx.deps.rdsFor({ account: db.account, region }, { id, principal: backupPrincipal(trigger) });
  const at = ctx.now();
  const identifier = snapshotName(name, at);
  const base = {
    id,
    kind: source.type === 'cluster' ? ('rds-cluster-snapshot' as const) : ('rds-snapshot' as const),
    database: name,
    source,
    region,
    snapshotIdentifier: identifier,
    trigger,
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
  };

  const state = await sourceStatus(rds, source);
  if (!maySnapshot(source.type, state.status)) {
    return finishEarly(ctx, {
      ...base,
      status: 'SKIPPED',
      reason: `${source.type} ${source.identifier} is ${state.status}, not available`,
    });
  }
  const quota = ctx.deps.config.backups.manualSnapshotQuota;
  const used = await manualSnapshots(rds, source.type);
  if (used >= quota) {
    return finishEarly(ctx, {
      ...base,
      status: 'FAILED',
      reason: `the manual ${source.type} snapshot quota is full in ${region} (${used} of ${quota}); delete snapshots or raise the quota`,
    });
  }
  if (used + 1 >= quota * QUOTA_WARNING) await warnQuota(ctx, name, region, used + 1, quota);

  const tags: Tag[] = [
    { Key: 'slipway:database', Value: name },
    { Key: 'slipway:schedule', Value: db.schedule },
    { Key: 'slipway:created-by', Value: CREATED_BY },
  ];
  try {
    const created =
      source.type === 'cluster'
        ? (
            await rds.send(
              new CreateDBClusterSnapshotCommand({
                DBClusterSnapshotIdentifier: identifier,
                DBClusterIdentifier: source.identifier,
                Tags: tags,
              }),
            )
          ).DBClusterSnapshot?.DBClusterSnapshotArn
        : (
            await rds.send(
              new CreateDBSnapshotCommand({
                DBSnapshotIdentifier: identifier,
                DBInstanceIdentifier: source.identifier,
                Tags: tags,
              }),
            )
          ).DBSnapshot?.DBSnapshotArn;
    const record: BackupRecord = {
      ...base,
      status: 'CREATING',
      encrypted: state.encrypted,
      ...(created ? { snapshotArn: created } : {}),
      ...(state.kmsKeyId ? { kmsKeyId: state.kmsKeyId } : {}),
    };
    await ctx.deps.store.create(record);
    metrics.addMetric('SnapshotsStarted', 'Count', 1);
    return record;
  } catch (error) {
    const reason = `RDS refused the snapshot (${errorName(error)}): ${(error as Error).message}`.slice(0, 500);
    return finishEarly(ctx, { ...base, status: 'FAILED', reason });
  }
}

async function finishEarly(ctx: BackupsContext, record: BackupRecord): Promise<BackupRecord> {
  await ctx.deps.store.create(record);
  logger.warn(`backup ${record.status.toLowerCase()}`, { database: record.database, reason: record.reason });
  metrics.addMetric(record.status === 'SKIPPED' ? 'BackupsSkipped' : 'BackupsFailed', 'Count', 1);
  await notify(ctx, record);
  return record;
}

async function sourceStatus(rds: RDSClient, source: { type: 'instance' | 'cluster'; identifier: string }) {
  try {
    if (source.type === 'cluster') {
      const cluster = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: source.identifier })))
        .DBClusters?.[0];
      return {
        status: cluster?.Status ?? 'missing',
        encrypted: cluster?.StorageEncrypted ?? false,
        kmsKeyId: cluster?.KmsKeyId,
      };
    }
    const instance = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: source.identifier })))
      .DBInstances?.[0];
    return {
      status: instance?.DBInstanceStatus ?? 'missing',
      encrypted: instance?.StorageEncrypted ?? false,
      kmsKeyId: instance?.KmsKeyId,
    };
  } catch (error) {
    const name = errorName(error);
    if (name === 'DBInstanceNotFoundFault' || name === 'DBClusterNotFoundFault') {
      return { status: 'missing', encrypted: false, kmsKeyId: undefined };
    }
    throw new UpstreamFailed(`RDS describe of ${source.identifier} failed (${name})`, { cause: error });
  }
}

async function manualSnapshots(rds: RDSClient, type: 'instance' | 'cluster'): Promise<number> {
  let count = 0;
  if (type === 'cluster') {
    for await (const page of paginateDescribeDBClusterSnapshots({ client: rds }, { SnapshotType: 'manual' })) {
      count += page.DBClusterSnapshots?.length ?? 0;
    }
  } else {
    for await (const page of paginateDescribeDBSnapshots({ client: rds }, { SnapshotType: 'manual' })) {
      count += page.DBSnapshots?.length ?? 0;
    }
  }
  return count;
}

async function warnQuota(ctx: BackupsContext, database: string, region: string, used: number, quota: number) {
  logger.warn('manual snapshot quota nearly full', { database, used, quota });
  await ctx.deps.publisher.publish({
    subject: `Slipway: manual snapshot quota ${used} of ${quota} in ${region}`,
    type: 'backup.quota',
    app: database,
    environment: region,
    state: 'WARNING',
    body: { database, used, quota, region },
  });
}
