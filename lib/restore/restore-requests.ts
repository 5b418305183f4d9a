import {
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  type DBCluster,
  type DBInstance,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBClusterToPointInTimeCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { audited, statusOutcome } from '../audit/trail';
import { restoreOperation } from '../backup/database-places';
import { drillIdentifier, restoreTargetPrefix } from '../backup/identifiers';
import { isArchive, type RestoreRecord } from '../backup/records';
import { isVaultCopy } from '../backup/vault';
import { Conflict, InvalidInput, NotFound, SlipwayError, Unprocessable, UpstreamFailed } from '../errors';
import { logger, metrics } from '../observability';
import {
  clusterFromSnapshot,
  clusterToPointInTime,
  clusterWriter,
  type Encryption,
  encryptionKeyProblem,
  instanceFromSnapshot,
  instanceToPointInTime,
  isMultiAZCluster,
  type RestoreOverrides,
  type RestoreTime,
  restoreTags,
} from './plan';
import {
  countDrill,
  drillMetric,
  errorName,
  notify,
  type RestoresContext,
  targetExists,
  writerIdentifier,
} from './restores-context';
import { refusePlaceElsewhere, requestVaultRestore } from './vault-restore';

/**
 * Restores over HTTP and restore drills, started: a restore always creates a NEW instance or cluster
 * with the source's network and shape, and never touches the source. Following it until the target is
 * available is restore-settlement.ts.
 */

export interface RestoreRequest {
  database: string;
  /** Only for a vault copy: the account (a name under accounts; absent: the vault) and region (the copy's) to restore into. */
  account?: string;
  region?: string;
  backupId?: string;
  /** ISO time, or `latest` for the latest restorable time. */
  pointInTime?: string;
  targetIdentifier: string;
  overrides?: RestoreOverrides;
  requestedBy: string;
}

/** What a restore will send, planned whole before the first call, and what it is restored from. */
interface RestorePlan {
  restore: () => Promise<unknown>;
  /** An Aurora cluster's writer, created once the cluster is asked for. */
  writer?: CreateDBInstanceCommandInput;
  multiAZCluster: boolean;
  encryption: Encryption;
}

/** A restore's target must carry its source's prefix: Slipway's roles may create and tag nothing else. */
function requireRestoreTarget(target: string, sourceIdentifier: string): void {
  const prefix = restoreTargetPrefix(sourceIdentifier);
  if (target.startsWith(prefix)) return;
  const message = `must start with ${prefix}: a restore of ${sourceIdentifier} goes into ${prefix}<name>, the only names Slipway may create`;
  throw new InvalidInput(`targetIdentifier: ${message}`, {
    details: [{ location: 'body', field: 'targetIdentifier', message }],
  });
}

export async function requestRestore(
  ctx: RestoresContext,
  asked: RestoreRequest,
  drill = false,
): Promise<RestoreRecord> {
  // RDS stores identifiers lowercased (RDS User Guide, "Naming constraints in Amazon RDS"): asking in that
  // case keeps the record, the tags and the ARNs IAM judges equal to what RDS creates.
  const input = { ...asked, targetIdentifier: asked.targetIdentifier.toLowerCase() };
  const db = Object.hasOwn(ctx.deps.config.databases, input.database)
    ? ctx.deps.config.databases[input.database]
    : undefined;
  if (!db) throw new NotFound(`no database named ${input.database}`, { details: { database: input.database } });
  const source = db.rdsCluster
    ? { type: 'cluster' as const, identifier: db.rdsCluster }
    : { type: 'instance' as const, identifier: db.rdsInstance as string };
  const vaultCopy = input.backupId ? await vaultCopyOf(ctx, input.backupId, input.database) : undefined;
  if (vaultCopy) {
    if (!drill) requireRestoreTarget(input.targetIdentifier, source.identifier);
    return requestVaultRestore(ctx, input, vaultCopy, source.identifier);
  }
  refusePlaceElsewhere(input);
  // Named before the first call: every call of the restore is made as its session in the database's account.
  const id = ctx.newId();
  const region = db.region ?? ctx.deps.region;
  const rds = ctx.deps.rdsFor(
    { account: db.account, region },
    restoreOperation({ id, requestedBy: input.requestedBy }),
  );
  if (input.targetIdentifier === source.identifier || (await targetExists(rds, source.type, input.targetIdentifier))) {
    throw new Conflict(
      `${source.type} ${input.targetIdentifier} already exists; a restore always creates a new ${source.type} and never overwrites one`,
      { details: { targetIdentifier: input.targetIdentifier } },
    );
  }

  if (!drill) requireRestoreTarget(input.targetIdentifier, source.identifier);

  let from: RestoreRecord['from'];
  let snapshotKey: Encryption | undefined;
  if (input.backupId) {
    const backup = await ctx.deps.backups.get(input.backupId);
    if (!backup || backup.database !== input.database) {
      throw new NotFound(`database ${input.database} has no backup ${input.backupId}`);
    }
    if (isArchive(backup)) {
      throw new Unprocessable(
        `backup ${backup.id} is a ${backup.kind}; restore it with kind ${backup.kind === 'volume-archive' ? 'volume' : 'postgres-dump'}`,
        { details: { kind: backup.kind } },
      );
    }
    if (backup.status !== 'AVAILABLE' || backup.kind === 'snapshot-export') {
      throw new Unprocessable(
        backup.kind === 'snapshot-export'
          ? `backup ${backup.id} is an S3 export, which RDS cannot restore; restore its snapshot ${backup.parentId ?? ''}`.trim()
          : `backup ${backup.id} is ${backup.status}, not AVAILABLE`,
        { details: { status: backup.status, kind: backup.kind } },
      );
    }
    if (backup.region !== region) {
      throw new Unprocessable(
        `backup ${backup.id} is in ${backup.region}; restores of database ${input.database} run in ${region}`,
      );
    }
    from = { backupId: backup.id, snapshotIdentifier: backup.snapshotIdentifier };
    // The snapshot's key as recorded when it was taken; the source's when the record has none.
    if (backup.encrypted !== undefined && (backup.kmsKeyId !== undefined || !backup.encrypted)) {
      snapshotKey = { encrypted: backup.encrypted, kmsKeyId: backup.kmsKeyId };
    }
  } else {
    from = { pointInTime: input.pointInTime ?? 'latest' };
  }

  const tags: Tag[] = [
    { Key: 'slipway:restore-of', Value: source.identifier },
    { Key: 'slipway:restore-id', Value: id },
    ...(drill ? [{ Key: 'slipway:drill', Value: 'true' }] : []),
  ];
  const restoreTime =
    'pointInTime' in from ? (from.pointInTime === 'latest' ? 'latest' : new Date(from.pointInTime)) : undefined;
  const at = ctx.now().toISOString();
  const record: RestoreRecord = {
    id,
    database: input.database,
    source,
    from,
    targetIdentifier: input.targetIdentifier,
    region,
    status: 'RESTORING',
    requestedBy: input.requestedBy,
    drill,
    createdAt: at,
    updatedAt: at,
  };
  try {
    // Every call is planned before the first is made, so a plan that cannot be made leaves nothing half-created.
    const plan =
      source.type === 'cluster'
        ? await planCluster(rds, source.identifier, from, restoreTime, input, tags)
        : await planInstance(rds, source.identifier, from, restoreTime, input, tags);
    const refused = encryptionKeyProblem(
      snapshotKey ?? plan.encryption,
      db.kmsKeyArn,
      input.database,
      'snapshotIdentifier' in from ? `snapshot ${from.snapshotIdentifier}` : `${source.type} ${source.identifier}`,
    );
    if (refused) {
      if (drill) return refuseDrill(ctx, record, refused.reason);
      throw new Unprocessable(refused.reason, { details: refused.details });
    }
    await plan.restore();
    if (plan.writer) await rds.send(new CreateDBInstanceCommand(plan.writer));
    if (plan.multiAZCluster) record.multiAZCluster = true;
  } catch (error) {
    if (error instanceof SlipwayError) throw error;
    const name = errorName(error);
    if (name.endsWith('AlreadyExistsFault')) {
      throw new Conflict(`${input.targetIdentifier} already exists; a restore never overwrites`, { cause: error });
    }
    if (
      name === 'InvalidParameterValue' ||
      name === 'InvalidParameterCombination' ||
      name.startsWith('InvalidRestore')
    ) {
      throw new Unprocessable(`RDS refused the restore: ${(error as Error).message}`, { cause: error });
    }
    throw new UpstreamFailed(`RDS restore of ${input.database} failed (${name})`, { cause: error });
  }

  await ctx.deps.store.create(record);
  metrics.addMetric(drill ? 'DrillsStarted' : 'RestoresStarted', 'Count', 1);
  await notify(ctx, record);
  return record;
}

/**
 * An Aurora cluster is restored, then given a writer; a Multi-AZ DB cluster is restored with its
 * instances (RestoreDBClusterFromSnapshot, RDS API Reference).
 */
async function planCluster(
  rds: RDSClient,
  identifier: string,
  from: RestoreRecord['from'],
  restoreTime: RestoreTime | undefined,
  input: RestoreRequest,
  tags: Tag[],
): Promise<RestorePlan> {
  const cluster = await describeCluster(rds, identifier);
  const multiAZCluster = isMultiAZCluster(cluster);
  const clusterTags = restoreTags(cluster.TagList, tags);
  let restore: () => Promise<unknown>;
  if ('snapshotIdentifier' in from) {
    const command = new RestoreDBClusterFromSnapshotCommand(
      clusterFromSnapshot(cluster, from.snapshotIdentifier, input.targetIdentifier, input.overrides, clusterTags),
    );
    restore = () => rds.send(command);
  } else {
    const command = new RestoreDBClusterToPointInTimeCommand(
      clusterToPointInTime(cluster, restoreTime as RestoreTime, input.targetIdentifier, input.overrides, clusterTags),
    );
    restore = () => rds.send(command);
  }
  let writerPlan: CreateDBInstanceCommandInput | undefined;
  if (!multiAZCluster) {
    const writerId = cluster.DBClusterMembers?.find((member) => member.IsClusterWriter)?.DBInstanceIdentifier;
    const writer = writerId ? await describeInstance(rds, writerId) : undefined;
    writerPlan = {
      ...clusterWriter(cluster, writer, input.targetIdentifier, input.overrides, restoreTags(writer?.TagList, tags)),
      DBInstanceIdentifier: writerIdentifier(input.targetIdentifier),
    };
  }
  return {
    restore,
    ...(writerPlan ? { writer: writerPlan } : {}),
    multiAZCluster,
    encryption: { encrypted: cluster.StorageEncrypted ?? false, kmsKeyId: cluster.KmsKeyId },
  };
}

async function planInstance(
  rds: RDSClient,
  identifier: string,
  from: RestoreRecord['from'],
  restoreTime: RestoreTime | undefined,
  input: RestoreRequest,
  tags: Tag[],
): Promise<RestorePlan> {
  const instance = await describeInstance(rds, identifier);
  const instanceTags = restoreTags(instance.TagList, tags);
  let restore: () => Promise<unknown>;
  if ('snapshotIdentifier' in from) {
    const command = new RestoreDBInstanceFromDBSnapshotCommand(
      instanceFromSnapshot(instance, from.snapshotIdentifier, input.targetIdentifier, input.overrides, instanceTags),
    );
    restore = () => rds.send(command);
  } else {
    const command = new RestoreDBInstanceToPointInTimeCommand(
      instanceToPointInTime(
        instance,
        restoreTime as RestoreTime,
        input.targetIdentifier,
        input.overrides,
        instanceTags,
      ),
    );
    restore = () => rds.send(command);
  }
  return {
    restore,
    multiAZCluster: false,
    encryption: { encrypted: instance.StorageEncrypted ?? false, kmsKeyId: instance.KmsKeyId },
  };
}

/** The backup, when it is the database's copy in the vault account. */
async function vaultCopyOf(ctx: RestoresContext, backupId: string, database: string) {
  const backup = await ctx.deps.backups.get(backupId);
  return backup && !isArchive(backup) && backup.database === database && isVaultCopy(backup) ? backup : undefined;
}

/** A drill that cannot start is a failed drill: recorded, counted and told, with nothing to clean up. */
async function refuseDrill(ctx: RestoresContext, record: RestoreRecord, reason: string): Promise<RestoreRecord> {
  const failed: RestoreRecord = { ...record, status: 'FAILED', reason, deletedAt: record.createdAt };
  await ctx.deps.store.create(failed);
  countDrill(failed, false);
  logger.warn('restore drill refused', { database: record.database, reason });
  await notify(ctx, failed);
  return failed;
}

/** A restore drill: the newest available snapshot into a scratch identifier. */
export async function drillRestore(ctx: RestoresContext, database: string): Promise<RestoreRecord> {
  return audited(
    ctx.deps.audit,
    { actor: 'drill', action: 'restore.drill', target: { database } },
    () => drillNow(ctx, database),
    (record) => ({
      target: { restoreId: record.id, ...('backupId' in record.from ? { backupId: record.from.backupId } : {}) },
      outcome: statusOutcome(record),
    }),
  );
}

async function drillNow(ctx: RestoresContext, database: string): Promise<RestoreRecord> {
  const db = ctx.deps.config.databases[database];
  const region = db?.region ?? ctx.deps.region;
  const snapshots = (await ctx.deps.backups.list(database, { limit: 50 })).items.filter(
    (backup) =>
      backup.status === 'AVAILABLE' &&
      (backup.kind === 'rds-snapshot' || backup.kind === 'rds-cluster-snapshot') &&
      backup.region === region,
  );
  const newest = snapshots[0];
  if (!newest || !db) {
    drillMetric(database, false);
    throw new Unprocessable(`database ${database} has no available snapshot to drill with`);
  }
  return requestRestore(
    ctx,
    {
      database,
      backupId: newest.id,
      targetIdentifier: drillIdentifier(database, ctx.now()),
      // The scratch copy must be deletable even when the source is protected.
      overrides: {
        deletionProtection: false,
        ...(db.restoreDrill?.instanceClass ? { instanceClass: db.restoreDrill.instanceClass } : {}),
      },
      requestedBy: 'drill',
    },
    true,
  );
}

async function describeInstance(rds: RDSClient, identifier: string): Promise<DBInstance> {
  const instance = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })))
    .DBInstances?.[0];
  if (!instance) throw new UpstreamFailed(`RDS returned no instance ${identifier}`);
  return instance;
}

async function describeCluster(rds: RDSClient, identifier: string): Promise<DBCluster> {
  const cluster = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }))).DBClusters?.[0];
  if (!cluster) throw new UpstreamFailed(`RDS returned no cluster ${identifier}`);
  return cluster;
}
