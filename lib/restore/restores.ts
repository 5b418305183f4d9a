import { randomUUID } from 'node:crypto';
import {
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  type DBCluster,
  type DBInstance,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBClusterToPointInTimeCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { type AuditRecorder, audited, statusOutcome } from '../audit/trail';
import { publishAgeMinutes } from '../backup/ages';
import { drillIdentifier, restoreTargetPrefix } from '../backup/identifiers';
import { restoreTargetProgress } from '../backup/rds-states';
import { type AnyRestoreRecord, isArchive, isArchiveRestore, type RestoreRecord } from '../backup/records';
import type { SlipwayConfig } from '../config/schema';
import { Conflict, InvalidInput, NotFound, SlipwayError, Unprocessable, UpstreamFailed } from '../errors';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { BackupStore, RestoreStore } from '../store/backups';
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

/**
 * Restores over HTTP and restore drills. A restore always creates a NEW instance or cluster
 * with the source's network and shape, never touches the source, and is followed (event plus
 * reconciler) until the target is available, with the measured duration.
 */

export interface RestoreRequest {
  database: string;
  backupId?: string;
  /** ISO time, or `latest` for the latest restorable time. */
  pointInTime?: string;
  targetIdentifier: string;
  overrides?: RestoreOverrides;
  requestedBy: string;
}

export interface RestoresDeps {
  config: SlipwayConfig;
  store: RestoreStore;
  backups: BackupStore;
  rds: RDSClient;
  region: string;
  publisher: Publisher;
  /** Where what Slipway does by itself (scheduled backups, retention, drills) is recorded. */
  audit: AuditRecorder;
  now?: () => Date;
  newId?: () => string;
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');
// A database's partition also lists dump restores, which Archives follows.
const rdsOnly = (records: AnyRestoreRecord[]) =>
  records.filter((record): record is RestoreRecord => !isArchiveRestore(record));
const NOT_FOUND = new Set(['DBInstanceNotFoundFault', 'DBClusterNotFoundFault']);

/** What a restore will send, planned whole before the first call, and what it is restored from. */
interface RestorePlan {
  restore: () => Promise<unknown>;
  /** An Aurora cluster's writer, created once the cluster is asked for. */
  writer?: CreateDBInstanceCommandInput;
  multiAZCluster: boolean;
  encryption: Encryption;
}

/** DrillSuccesses or DrillFailures for the database, and the RTO of a drill that passed. */
function drillMetric(database: string, succeeded: boolean, rtoSeconds?: number) {
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  single.setDefaultDimensions({ Database: database });
  single.addMetric(succeeded ? 'DrillSuccesses' : 'DrillFailures', 'Count', 1);
  if (rtoSeconds !== undefined) single.addMetric('DrillRtoSeconds', 'Seconds', rtoSeconds);
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

/** The instance a restored Aurora cluster gets as its writer (a restored cluster has none). */
export const writerIdentifier = (cluster: string) => `${cluster}-1`;

export class Restores {
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly deps: RestoresDeps) {
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => `rst-${randomUUID()}`);
  }

  async get(id: string): Promise<AnyRestoreRecord> {
    const record = await this.deps.store.get(id);
    if (!record) throw new NotFound(`no restore ${id}`);
    return record;
  }

  async request(asked: RestoreRequest, drill = false): Promise<RestoreRecord> {
    // RDS stores identifiers lowercased (RDS User Guide, "Naming constraints in Amazon RDS"): asking in that
    // case keeps the record, the tags and the ARNs IAM judges equal to what RDS creates.
    const input = { ...asked, targetIdentifier: asked.targetIdentifier.toLowerCase() };
    const db = Object.hasOwn(this.deps.config.databases, input.database)
      ? this.deps.config.databases[input.database]
      : undefined;
    if (!db) throw new NotFound(`no database named ${input.database}`, { details: { database: input.database } });
    const source = db.rdsCluster
      ? { type: 'cluster' as const, identifier: db.rdsCluster }
      : { type: 'instance' as const, identifier: db.rdsInstance as string };
    if (input.targetIdentifier === source.identifier || (await this.exists(source.type, input.targetIdentifier))) {
      throw new Conflict(
        `${source.type} ${input.targetIdentifier} already exists; a restore always creates a new ${source.type} and never overwrites one`,
        { details: { targetIdentifier: input.targetIdentifier } },
      );
    }

    if (!drill) requireRestoreTarget(input.targetIdentifier, source.identifier);

    let from: RestoreRecord['from'];
    let snapshotKey: Encryption | undefined;
    if (input.backupId) {
      const backup = await this.deps.backups.get(input.backupId);
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
      if (backup.region !== this.deps.region) {
        throw new Unprocessable(`backup ${backup.id} is in ${backup.region}; restores here run in ${this.deps.region}`);
      }
      from = { backupId: backup.id, snapshotIdentifier: backup.snapshotIdentifier };
      // The snapshot's key as recorded when it was taken; the source's when the record has none.
      if (backup.encrypted !== undefined && (backup.kmsKeyId !== undefined || !backup.encrypted)) {
        snapshotKey = { encrypted: backup.encrypted, kmsKeyId: backup.kmsKeyId };
      }
    } else {
      from = { pointInTime: input.pointInTime ?? 'latest' };
    }

    const id = this.newId();
    const tags: Tag[] = [
      { Key: 'slipway:restore-of', Value: source.identifier },
      { Key: 'slipway:restore-id', Value: id },
      ...(drill ? [{ Key: 'slipway:drill', Value: 'true' }] : []),
    ];
    const restoreTime =
      'pointInTime' in from ? (from.pointInTime === 'latest' ? 'latest' : new Date(from.pointInTime)) : undefined;
    const at = this.now().toISOString();
    const record: RestoreRecord = {
      id,
      database: input.database,
      source,
      from,
      targetIdentifier: input.targetIdentifier,
      region: this.deps.region,
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
          ? await this.planCluster(source.identifier, from, restoreTime, input, tags)
          : await this.planInstance(source.identifier, from, restoreTime, input, tags);
      const refused = encryptionKeyProblem(
        snapshotKey ?? plan.encryption,
        db.kmsKeyArn,
        input.database,
        'snapshotIdentifier' in from ? `snapshot ${from.snapshotIdentifier}` : `${source.type} ${source.identifier}`,
      );
      if (refused) {
        if (drill) return this.refuseDrill(record, refused.reason);
        throw new Unprocessable(refused.reason, { details: refused.details });
      }
      await plan.restore();
      if (plan.writer) await this.deps.rds.send(new CreateDBInstanceCommand(plan.writer));
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

    await this.deps.store.create(record);
    metrics.addMetric(drill ? 'DrillsStarted' : 'RestoresStarted', 'Count', 1);
    await this.notify(record);
    return record;
  }

  /**
   * An Aurora cluster is restored, then given a writer; a Multi-AZ DB cluster is restored with its
   * instances (RestoreDBClusterFromSnapshot, RDS API Reference).
   */
  private async planCluster(
    identifier: string,
    from: RestoreRecord['from'],
    restoreTime: RestoreTime | undefined,
    input: RestoreRequest,
    tags: Tag[],
  ): Promise<RestorePlan> {
    const cluster = await this.describeCluster(identifier);
    const multiAZCluster = isMultiAZCluster(cluster);
    const clusterTags = restoreTags(cluster.TagList, tags);
    let restore: () => Promise<unknown>;
    if ('snapshotIdentifier' in from) {
      const command = new RestoreDBClusterFromSnapshotCommand(
        clusterFromSnapshot(cluster, from.snapshotIdentifier, input.targetIdentifier, input.overrides, clusterTags),
      );
      restore = () => this.deps.rds.send(command);
    } else {
      const command = new RestoreDBClusterToPointInTimeCommand(
        clusterToPointInTime(cluster, restoreTime as RestoreTime, input.targetIdentifier, input.overrides, clusterTags),
      );
      restore = () => this.deps.rds.send(command);
    }
    let writerPlan: CreateDBInstanceCommandInput | undefined;
    if (!multiAZCluster) {
      const writerId = cluster.DBClusterMembers?.find((member) => member.IsClusterWriter)?.DBInstanceIdentifier;
      const writer = writerId ? await this.describeInstance(writerId) : undefined;
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

  private async planInstance(
    identifier: string,
    from: RestoreRecord['from'],
    restoreTime: RestoreTime | undefined,
    input: RestoreRequest,
    tags: Tag[],
  ): Promise<RestorePlan> {
    const instance = await this.describeInstance(identifier);
    const instanceTags = restoreTags(instance.TagList, tags);
    let restore: () => Promise<unknown>;
    if ('snapshotIdentifier' in from) {
      const command = new RestoreDBInstanceFromDBSnapshotCommand(
        instanceFromSnapshot(instance, from.snapshotIdentifier, input.targetIdentifier, input.overrides, instanceTags),
      );
      restore = () => this.deps.rds.send(command);
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
      restore = () => this.deps.rds.send(command);
    }
    return {
      restore,
      multiAZCluster: false,
      encryption: { encrypted: instance.StorageEncrypted ?? false, kmsKeyId: instance.KmsKeyId },
    };
  }

  /** A drill that cannot start is a failed drill: recorded, counted and told, with nothing to clean up. */
  private async refuseDrill(record: RestoreRecord, reason: string): Promise<RestoreRecord> {
    const failed: RestoreRecord = { ...record, status: 'FAILED', reason, deletedAt: record.createdAt };
    await this.deps.store.create(failed);
    this.countDrill(failed, false);
    logger.warn('restore drill refused', { database: record.database, reason });
    await this.notify(failed);
    return failed;
  }

  /** A restore drill: the newest available snapshot into a scratch identifier. */
  async drill(database: string): Promise<RestoreRecord> {
    return audited(
      this.deps.audit,
      { actor: 'drill', action: 'restore.drill', target: { database } },
      () => this.drillNow(database),
      (record) => ({
        target: { restoreId: record.id, ...('backupId' in record.from ? { backupId: record.from.backupId } : {}) },
        outcome: statusOutcome(record),
      }),
    );
  }

  private async drillNow(database: string): Promise<RestoreRecord> {
    const snapshots = (await this.deps.backups.list(database, { limit: 50 })).items.filter(
      (backup) =>
        backup.status === 'AVAILABLE' &&
        (backup.kind === 'rds-snapshot' || backup.kind === 'rds-cluster-snapshot') &&
        backup.region === this.deps.region,
    );
    const newest = snapshots[0];
    const db = this.deps.config.databases[database];
    if (!newest || !db) {
      drillMetric(database, false);
      throw new Unprocessable(`database ${database} has no available snapshot to drill with`);
    }
    return this.request(
      {
        database,
        backupId: newest.id,
        targetIdentifier: drillIdentifier(database, this.now()),
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

  /**
   * Follows restores and drills until their target is available (or failed), cleans up drills, and
   * reports how long ago each drilled database's last drill passed.
   */
  async reconcile(): Promise<Array<{ id: string; outcome: string }>> {
    const outcomes: Array<{ id: string; outcome: string }> = [];
    for (const [database, db] of Object.entries(this.deps.config.databases)) {
      const recent = rdsOnly((await this.deps.store.list(database, { limit: 100 })).items);
      if (db.restoreDrill) {
        const passed = recent.find((record) => record.drill && record.availableAt !== undefined);
        publishAgeMinutes('NewestDrillAgeMinutes', { Database: database }, passed?.availableAt, this.now());
      }
      const records = recent.filter((record) => record.status === 'RESTORING' || (record.drill && !record.deletedAt));
      for (const record of records) {
        try {
          outcomes.push({ id: record.id, outcome: await this.settle(record) });
        } catch (error) {
          logger.error('restore could not be reconciled', { restoreId: record.id, error: error as Error });
          outcomes.push({ id: record.id, outcome: `error: ${errorName(error)}` });
        }
      }
    }
    return outcomes;
  }

  /** An RDS instance or cluster event about a restore target: settle it now rather than at the next reconcile. */
  async onTargetEvent(identifier: string): Promise<string> {
    for (const database of Object.keys(this.deps.config.databases)) {
      const record = rdsOnly((await this.deps.store.list(database, { limit: 100 })).items).find(
        (candidate) =>
          candidate.status === 'RESTORING' &&
          (candidate.targetIdentifier === identifier || writerIdentifier(candidate.targetIdentifier) === identifier),
      );
      if (record) return this.settle(record);
    }
    return 'not a restore Slipway follows';
  }

  private async settle(record: RestoreRecord): Promise<string> {
    if (record.status !== 'RESTORING') {
      // A drill whose scratch copy was not yet seen gone.
      return `drill ${record.status === 'AVAILABLE' ? 'passed' : 'failed'}; ${await this.cleanUpDrill(record)}`;
    }
    const status = await this.targetStatus(record);
    const progress = restoreTargetProgress(status);
    const at = this.now();
    if (progress === 'available') {
      const done = await this.deps.store.update<RestoreRecord>(record.id, ['RESTORING'], {
        status: 'AVAILABLE',
        availableAt: at.toISOString(),
        durationSeconds: Math.round((at.getTime() - Date.parse(record.createdAt)) / 1000),
        updatedAt: at.toISOString(),
      });
      if (!done) return 'changed meanwhile';
      await this.notify(done);
      if (!done.drill) return 'AVAILABLE';
      this.countDrill(done, true);
      return `drill passed; ${await this.cleanUpDrill(done)}`;
    }
    const limit = this.deps.config.databases[record.database]?.restoreDrill?.timeoutMinutes ?? 120;
    const timedOut = record.drill && at.getTime() - Date.parse(record.createdAt) > limit * 60_000;
    if (progress === 'in-progress' && !timedOut) return `still ${status}`;
    const reason = progress === 'failed' ? `RDS reports the target ${status}` : `not available after ${limit} minutes`;
    const done = await this.deps.store.update<RestoreRecord>(record.id, ['RESTORING'], {
      status: 'FAILED',
      reason,
      updatedAt: at.toISOString(),
    });
    if (!done) return 'changed meanwhile';
    await this.notify(done);
    if (!done.drill) return 'FAILED';
    this.countDrill(done, false);
    return `drill failed; ${await this.cleanUpDrill(done)}`;
  }

  private countDrill(record: RestoreRecord, succeeded: boolean) {
    drillMetric(record.database, succeeded, succeeded ? record.durationSeconds : undefined);
  }

  /**
   * Deletes a drill's scratch copy, whatever the drill's outcome, and records it deleted only once RDS
   * no longer knows it: a delete RDS refuses for the target's state (still creating, already deleting)
   * is tried again at the next reconcile, so no scratch database is left behind.
   */
  private async cleanUpDrill(record: RestoreRecord): Promise<string> {
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
    let gone = true;
    for (const part of parts) {
      try {
        if ((await this.deleteScratch(part.kind, part.identifier)) !== 'gone') gone = false;
      } catch (error) {
        logger.error('drill scratch database not deleted', { restoreId: record.id, error: error as Error });
        return 'scratch not deleted yet';
      }
    }
    if (!gone) return 'scratch being deleted';
    await this.deps.store.update<RestoreRecord>(record.id, ['AVAILABLE', 'FAILED'], {
      deletedAt: this.now().toISOString(),
      updatedAt: this.now().toISOString(),
    });
    return 'scratch deleted';
  }

  /** Asks RDS to delete a scratch instance or cluster: `gone` once RDS no longer knows it. */
  private async deleteScratch(kind: 'instance' | 'cluster', identifier: string): Promise<'gone' | 'deleting'> {
    try {
      if (kind === 'instance') {
        await this.deps.rds.send(
          new DeleteDBInstanceCommand({
            DBInstanceIdentifier: identifier,
            SkipFinalSnapshot: true,
            DeleteAutomatedBackups: true,
          }),
        );
      } else {
        await this.deps.rds.send(
          new DeleteDBClusterCommand({ DBClusterIdentifier: identifier, SkipFinalSnapshot: true }),
        );
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

  private async targetStatus(record: RestoreRecord): Promise<string> {
    try {
      if (record.multiAZCluster) {
        const cluster = (
          await this.deps.rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: record.targetIdentifier }))
        ).DBClusters?.[0];
        return cluster?.Status ?? 'missing';
      }
      const identifier =
        record.source.type === 'cluster' ? writerIdentifier(record.targetIdentifier) : record.targetIdentifier;
      const instance = (await this.deps.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })))
        .DBInstances?.[0];
      return instance?.DBInstanceStatus ?? 'missing';
    } catch (error) {
      if (NOT_FOUND.has(errorName(error))) return 'missing';
      throw error;
    }
  }

  private async exists(type: 'instance' | 'cluster', identifier: string): Promise<boolean> {
    try {
      if (type === 'cluster') {
        await this.deps.rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }));
      } else {
        await this.deps.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
      }
      return true;
    } catch (error) {
      if (NOT_FOUND.has(errorName(error))) return false;
      throw new UpstreamFailed(`RDS describe of ${identifier} failed (${errorName(error)})`, { cause: error });
    }
  }

  private async describeInstance(identifier: string): Promise<DBInstance> {
    const instance = (await this.deps.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })))
      .DBInstances?.[0];
    if (!instance) throw new UpstreamFailed(`RDS returned no instance ${identifier}`);
    return instance;
  }

  private async describeCluster(identifier: string): Promise<DBCluster> {
    const cluster = (await this.deps.rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier })))
      .DBClusters?.[0];
    if (!cluster) throw new UpstreamFailed(`RDS returned no cluster ${identifier}`);
    return cluster;
  }

  private async notify(record: RestoreRecord) {
    await this.deps.publisher.publish({
      subject: `Slipway: ${record.database} ${record.drill ? 'restore drill' : 'restore'} ${record.status}`,
      type: record.drill ? 'restore.drill' : 'restore.state',
      app: record.database,
      environment: record.region,
      state: record.status,
      body: {
        restore: {
          id: record.id,
          database: record.database,
          target: record.targetIdentifier,
          status: record.status,
          requestedBy: record.requestedBy,
          ...(record.reason ? { reason: record.reason } : {}),
          ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
        },
      },
    });
  }
}
