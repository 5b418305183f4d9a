import { randomUUID } from 'node:crypto';
import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  paginateDescribeExportTasks,
  type RDSClient,
  StartExportTaskCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { type AuditOutcome, type AuditRecorder, audited, statusOutcome } from '../audit/trail';
import type { DatabaseConfig, SlipwayConfig } from '../config/schema';
import { NotFound, UpstreamFailed } from '../errors';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { BackupStore } from '../store/backups';
import { publishAgeMinutes } from './ages';
import { databaseOfSnapshot, exportTaskIdentifier, snapshotName } from './identifiers';
import { type RdsSnapshotEvent, SNAPSHOT_CREATED_EVENTS } from './rds-events';
import { maySnapshot, snapshotProgress } from './rds-states';
import { type AnyBackupRecord, type BackupRecord, isArchive } from './records';
import { planRetention, type RetentionDecision, type SnapshotInfo } from './retention';

/**
 * Nightly RDS snapshots and what follows them: completion (event or reconciler), the copy to
 * another region, the export to S3 (both queued under RDS's limits), retention and staleness.
 */

export interface BackupsDeps {
  config: SlipwayConfig;
  store: BackupStore;
  /** An RDS client for a region (copies go to another one). */
  rdsFor: (region: string) => RDSClient;
  region: string;
  backupBucket: string;
  publisher: Publisher;
  /** Where what Slipway does by itself (scheduled backups, retention, drills) is recorded. */
  audit: AuditRecorder;
  now?: () => Date;
  newId?: () => string;
}

const CREATED_BY = 'slipway';
const QUOTA_WARNING = 0.8;
/** "You can have up to five concurrent DB snapshot export tasks in progress per account" (Exporting DB snapshot data to Amazon S3, RDS User Guide). */
export const ACCOUNT_EXPORTS_IN_FLIGHT = 5;
const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');
/**
 * StartExportTask's API Reference lists no fault for the concurrent-export limit; RDS names its
 * limit faults *QuotaExceeded (SnapshotQuotaExceeded for copies), so a quota or limit fault is that.
 */
const AT_LIMIT = 'at-limit' as const;
const isLimitFault = (error: unknown) => /QuotaExceeded|LimitExceeded|LimitReached/.test(errorName(error));
// A database's partition also lists its dumps, which this use case leaves to Archives.
const snapshotsOnly = (records: AnyBackupRecord[]) =>
  records.filter((record): record is BackupRecord => !isArchive(record));

export class Backups {
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly deps: BackupsDeps) {
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => `bkp-${randomUUID()}`);
  }

  database(name: string): DatabaseConfig {
    const db = Object.hasOwn(this.deps.config.databases, name) ? this.deps.config.databases[name] : undefined;
    if (!db) throw new NotFound(`no database named ${name}`, { details: { database: name } });
    return db;
  }

  private source(db: DatabaseConfig) {
    return db.rdsCluster
      ? { type: 'cluster' as const, identifier: db.rdsCluster }
      : { type: 'instance' as const, identifier: db.rdsInstance as string };
  }

  /** Takes a snapshot now: skipped with the reason when the source is not available, refused when the quota is full. */
  async take(name: string, trigger: string): Promise<BackupRecord> {
    // A request's backup is audited by its route (trigger `api:<principal>`).
    if (trigger.startsWith('api:')) return this.takeNow(name, trigger);
    return audited(
      this.deps.audit,
      { actor: trigger, action: 'backup.take', target: { database: name } },
      () => this.takeNow(name, trigger),
      (record) => ({ target: { backupId: record.id, kind: record.kind }, outcome: statusOutcome(record) }),
    );
  }

  private async takeNow(name: string, trigger: string): Promise<BackupRecord> {
    const db = this.database(name);
    const source = this.source(db);
    const rds = this.deps.rdsFor(this.deps.region);
    const at = this.now();
    const identifier = snapshotName(name, at);
    const base = {
      id: this.newId(),
      kind: source.type === 'cluster' ? ('rds-cluster-snapshot' as const) : ('rds-snapshot' as const),
      database: name,
      source,
      region: this.deps.region,
      snapshotIdentifier: identifier,
      trigger,
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    };

    const state = await this.sourceStatus(rds, source);
    if (!maySnapshot(source.type, state.status)) {
      return this.finishEarly({
        ...base,
        status: 'SKIPPED',
        reason: `${source.type} ${source.identifier} is ${state.status}, not available`,
      });
    }
    const quota = this.deps.config.backups.manualSnapshotQuota;
    const used = await this.manualSnapshots(rds, source.type);
    if (used >= quota) {
      return this.finishEarly({
        ...base,
        status: 'FAILED',
        reason: `the manual ${source.type} snapshot quota is full in ${this.deps.region} (${used} of ${quota}); delete snapshots or raise the quota`,
      });
    }
    if (used + 1 >= quota * QUOTA_WARNING) await this.warnQuota(name, used + 1, quota);

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
      await this.deps.store.create(record);
      metrics.addMetric('SnapshotsStarted', 'Count', 1);
      return record;
    } catch (error) {
      const reason = `RDS refused the snapshot (${errorName(error)}): ${(error as Error).message}`.slice(0, 500);
      return this.finishEarly({ ...base, status: 'FAILED', reason });
    }
  }

  /** A snapshot event: the snapshot Slipway made is available; copies and exports follow. */
  async onSnapshotEvent(event: RdsSnapshotEvent): Promise<{ applied: boolean; reason: string }> {
    if (!(SNAPSHOT_CREATED_EVENTS as readonly string[]).includes(event.detail.EventID)) {
      return { applied: false, reason: `${event.detail.EventID} is not a snapshot completion` };
    }
    const identifier = event.detail.SourceIdentifier;
    const database = databaseOfSnapshot(identifier);
    if (!database || !Object.hasOwn(this.deps.config.databases, database)) {
      return { applied: false, reason: `${identifier} is not a snapshot Slipway made` };
    }
    const records = snapshotsOnly(await this.deps.store.withStatus(database, ['CREATING'], 50));
    const record = records.find(
      (candidate) => candidate.snapshotIdentifier === identifier && candidate.region === event.region,
    );
    if (!record) return { applied: false, reason: `no snapshot ${identifier} is being created` };
    const settled = await this.settleSnapshot(record);
    return {
      applied: settled !== undefined,
      reason: settled ? `${record.snapshotIdentifier} is ${settled.status}` : 'changed meanwhile',
    };
  }

  /**
   * The schedule: settles what events left open (snapshots, copies, exports), starts queued
   * copies and exports within their limits, and publishes each database's backup age.
   */
  async reconcile(): Promise<Array<{ id: string; outcome: string }>> {
    const outcomes: Array<{ id: string; outcome: string }> = [];
    for (const database of Object.keys(this.deps.config.databases)) {
      for (const record of snapshotsOnly(await this.deps.store.withStatus(database, ['CREATING']))) {
        try {
          const settled =
            record.kind === 'snapshot-export'
              ? await this.settleExport(record)
              : record.kind === 'snapshot-copy'
                ? await this.settleCopy(record)
                : await this.settleSnapshot(record);
          outcomes.push({ id: record.id, outcome: settled?.status ?? 'still in progress' });
        } catch (error) {
          logger.error('backup could not be reconciled', { backupId: record.id, error: error as Error });
          outcomes.push({ id: record.id, outcome: `error: ${errorName(error)}` });
        }
      }
    }
    for (const started of await this.pump()) outcomes.push(started);
    await this.publishAges();
    return outcomes;
  }

  /** What retention would delete now, and why, without deleting anything. */
  async retentionPreview(database: string): Promise<RetentionDecision> {
    const db = this.database(database);
    return planRetention(await this.snapshotsOf(database, db), db.retention, this.now());
  }

  /** Deletes what retention says, in every region, recording each deletion. */
  async applyRetention(database: string): Promise<RetentionDecision> {
    const db = this.database(database);
    const decision = planRetention(await this.snapshotsOf(database, db), db.retention, this.now());
    const source = this.source(db);
    const records = snapshotsOnly((await this.deps.store.list(database, { limit: 200 })).items);
    for (const { snapshot, reason } of decision.delete) {
      const rds = this.deps.rdsFor(snapshot.region);
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
        await this.auditDeletion(database, snapshot, { result: 'failed', code: errorName(error), detail: reason });
        continue;
      }
      const record = records.find(
        (candidate) => candidate.snapshotIdentifier === snapshot.id && candidate.region === snapshot.region,
      );
      if (record) {
        // RDS's view decides: a record whose completion was never seen is deleted all the same.
        await this.deps.store.update<BackupRecord>(record.id, ['AVAILABLE', 'FAILED', 'CREATING'], {
          status: 'DELETED',
          deletedAt: this.now().toISOString(),
          reason: `retention: ${reason}`,
          updatedAt: this.now().toISOString(),
        });
      }
      logger.info('snapshot deleted by retention', {
        database,
        snapshot: snapshot.id,
        region: snapshot.region,
        reason,
      });
      metrics.addMetric('SnapshotsDeleted', 'Count', 1);
      await this.auditDeletion(database, snapshot, { result: 'succeeded', code: 'DELETED', detail: reason });
    }
    return decision;
  }

  private auditDeletion(database: string, snapshot: { id: string; region: string }, outcome: AuditOutcome) {
    return this.deps.audit.record({
      source: 'automatic',
      actor: 'retention',
      action: 'backup.delete',
      decision: 'allowed',
      target: { database, snapshot: snapshot.id, region: snapshot.region },
      outcome,
    });
  }

  // ---- internals ------------------------------------------------------------------------

  private async finishEarly(record: BackupRecord): Promise<BackupRecord> {
    await this.deps.store.create(record);
    logger.warn(`backup ${record.status.toLowerCase()}`, { database: record.database, reason: record.reason });
    metrics.addMetric(record.status === 'SKIPPED' ? 'BackupsSkipped' : 'BackupsFailed', 'Count', 1);
    await this.notify(record);
    return record;
  }

  private async sourceStatus(rds: RDSClient, source: { type: 'instance' | 'cluster'; identifier: string }) {
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

  private async manualSnapshots(rds: RDSClient, type: 'instance' | 'cluster'): Promise<number> {
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

  private async warnQuota(database: string, used: number, quota: number) {
    logger.warn('manual snapshot quota nearly full', { database, used, quota });
    await this.deps.publisher.publish({
      subject: `Slipway: manual snapshot quota ${used} of ${quota} in ${this.deps.region}`,
      type: 'backup.quota',
      app: database,
      environment: this.deps.region,
      state: 'WARNING',
      body: { database, used, quota, region: this.deps.region },
    });
  }

  /** Reads a snapshot's state and moves its record on; undefined while it is still being made. */
  private async settleSnapshot(record: BackupRecord): Promise<BackupRecord | undefined> {
    const described = await this.describeSnapshot(record.region, record.source.type, record.snapshotIdentifier);
    const progress = snapshotProgress(described.status);
    if (progress === 'in-progress') return undefined;
    const at = this.now();
    const available = progress === 'available';
    const settled = await this.deps.store.update<BackupRecord>(record.id, ['CREATING'], {
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
    await this.notify(settled);
    if (available && settled.kind !== 'snapshot-copy') {
      await this.queueFollowUps(settled);
      try {
        await this.applyRetention(settled.database);
      } catch (error) {
        // Retention is housekeeping: the snapshot is available whether or not it ran; the next one retries.
        logger.warn('retention did not run', { database: settled.database, error: error as Error });
        metrics.addMetric('RetentionFailures', 'Count', 1);
      }
    }
    return settled;
  }

  private async describeSnapshot(region: string, type: 'instance' | 'cluster', identifier: string) {
    const rds = this.deps.rdsFor(region);
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

  /** A copy to copyToRegion and an export to S3, as the database asks; both start when their limit allows. */
  private async queueFollowUps(snapshot: BackupRecord) {
    const db = this.database(snapshot.database);
    const at = this.now().toISOString();
    const follow = (kind: 'snapshot-copy' | 'snapshot-export', region: string, identifier: string): BackupRecord => ({
      id: this.newId(),
      kind,
      database: snapshot.database,
      source: snapshot.source,
      region,
      snapshotIdentifier: identifier,
      status: 'QUEUED',
      trigger: `after ${snapshot.id}`,
      parentId: snapshot.id,
      createdAt: at,
      updatedAt: at,
    });
    if (db.copyToRegion)
      await this.deps.store.create(follow('snapshot-copy', db.copyToRegion, snapshot.snapshotIdentifier));
    if (db.exportToS3) {
      await this.deps.store.create({
        ...follow('snapshot-export', snapshot.region, snapshot.snapshotIdentifier),
        s3Prefix: `rds-exports/${snapshot.database}/${snapshot.snapshotIdentifier}`,
      });
    }
  }

  /**
   * Starts queued copies and exports, oldest first, while fewer than the limits are in flight. Exports
   * also wait while the account's own limit is reached, whoever started them.
   */
  private async pump(): Promise<Array<{ id: string; outcome: string }>> {
    const { maxCopiesInFlight, maxExportsInFlight } = this.deps.config.backups;
    const all = (
      await Promise.all(
        Object.keys(this.deps.config.databases).map((database) =>
          this.deps.store.withStatus(database, ['QUEUED', 'CREATING']),
        ),
      )
    )
      .flat()
      .filter((record): record is BackupRecord => !isArchive(record));
    const inFlight = (kind: BackupRecord['kind']) =>
      all.filter((record) => record.kind === kind && record.status === 'CREATING').length;
    let copies = inFlight('snapshot-copy');
    let exports = inFlight('snapshot-export');
    const queued = all
      .filter((record) => record.status === 'QUEUED')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    let accountExports = queued.some((record) => record.kind === 'snapshot-export') ? await this.exportsInFlight() : 0;
    const outcomes: Array<{ id: string; outcome: string }> = [];
    for (const record of queued) {
      const isCopy = record.kind === 'snapshot-copy';
      if (isCopy ? copies >= maxCopiesInFlight : exports >= maxExportsInFlight) {
        outcomes.push({ id: record.id, outcome: 'queued (limit reached)' });
        continue;
      }
      if (!isCopy && accountExports >= ACCOUNT_EXPORTS_IN_FLIGHT) {
        outcomes.push({ id: record.id, outcome: 'queued (account export limit reached)' });
        continue;
      }
      const started = isCopy ? await this.startCopy(record) : await this.startExport(record);
      if (started === AT_LIMIT) {
        // The account is full until one of its exports ends; this one stays first in the queue.
        accountExports = ACCOUNT_EXPORTS_IN_FLIGHT;
        outcomes.push({ id: record.id, outcome: 'queued (RDS refused it at its export limit)' });
        continue;
      }
      if (started.status === 'CREATING') {
        if (isCopy) copies += 1;
        else {
          exports += 1;
          accountExports += 1;
        }
      }
      outcomes.push({ id: record.id, outcome: started.status });
    }
    return outcomes;
  }

  /** Export tasks of the account still running in this region, Slipway's and anyone else's. */
  private async exportsInFlight(): Promise<number> {
    let count = 0;
    for await (const page of paginateDescribeExportTasks(
      { client: this.deps.rdsFor(this.deps.region) },
      // Filter values are lowercase (DescribeExportTasks, RDS API Reference).
      { Filters: [{ Name: 'status', Values: ['starting', 'in_progress', 'canceling'] }] },
    )) {
      count += page.ExportTasks?.length ?? 0;
    }
    return count;
  }

  private async parentOf(record: BackupRecord): Promise<BackupRecord> {
    const found = record.parentId ? await this.deps.store.get(record.parentId) : undefined;
    const parent = found && !isArchive(found) ? found : undefined;
    if (!parent?.snapshotArn) throw new UpstreamFailed(`backup ${record.id} has no source snapshot ARN to start from`);
    return parent;
  }

  private async startCopy(record: BackupRecord): Promise<BackupRecord> {
    const db = this.database(record.database);
    const parent = await this.parentOf(record);
    if (parent.encrypted && !db.copyKmsKeyId) {
      return this.failQueued(
        record,
        `the snapshot is encrypted and database ${record.database} has no copyKmsKeyId in ${record.region}`,
      );
    }
    // Called in the destination region with the source's ARN; a presigned URL is only needed in GovCloud.
    const destination = this.deps.rdsFor(record.region);
    const kms = parent.encrypted && db.copyKmsKeyId ? { KmsKeyId: db.copyKmsKeyId } : {};
    try {
      const arn =
        record.source.type === 'cluster'
          ? (
              await destination.send(
                new CopyDBClusterSnapshotCommand({
                  SourceDBClusterSnapshotIdentifier: parent.snapshotArn,
                  TargetDBClusterSnapshotIdentifier: record.snapshotIdentifier,
                  CopyTags: true,
                  ...kms,
                }),
              )
            ).DBClusterSnapshot?.DBClusterSnapshotArn
          : (
              await destination.send(
                new CopyDBSnapshotCommand({
                  SourceDBSnapshotIdentifier: parent.snapshotArn,
                  TargetDBSnapshotIdentifier: record.snapshotIdentifier,
                  CopyTags: true,
                  ...kms,
                }),
              )
            ).DBSnapshot?.DBSnapshotArn;
      return (
        (await this.deps.store.update<BackupRecord>(record.id, ['QUEUED'], {
          status: 'CREATING',
          ...(arn ? { snapshotArn: arn } : {}),
          encrypted: parent.encrypted,
          updatedAt: this.now().toISOString(),
        })) ?? record
      );
    } catch (error) {
      return this.failQueued(
        record,
        `RDS refused the copy (${errorName(error)}): ${(error as Error).message}`.slice(0, 500),
      );
    }
  }

  private async startExport(record: BackupRecord): Promise<BackupRecord | typeof AT_LIMIT> {
    const db = this.database(record.database);
    const parent = await this.parentOf(record);
    const taskIdentifier = exportTaskIdentifier(record.snapshotIdentifier);
    try {
      await this.deps.rdsFor(record.region).send(
        new StartExportTaskCommand({
          ExportTaskIdentifier: taskIdentifier,
          SourceArn: parent.snapshotArn,
          S3BucketName: this.deps.backupBucket,
          S3Prefix: record.s3Prefix,
          IamRoleArn: db.exportRoleArn,
          KmsKeyId: db.exportKmsKeyId,
        }),
      );
      return (
        (await this.deps.store.update<BackupRecord>(record.id, ['QUEUED'], {
          status: 'CREATING',
          snapshotIdentifier: taskIdentifier,
          updatedAt: this.now().toISOString(),
        })) ?? record
      );
    } catch (error) {
      if (isLimitFault(error)) {
        logger.info('export left queued: RDS is at its export limit', { backupId: record.id, error: error as Error });
        return AT_LIMIT;
      }
      return this.failQueued(
        record,
        `RDS refused the export (${errorName(error)}): ${(error as Error).message}`.slice(0, 500),
      );
    }
  }

  private async failQueued(record: BackupRecord, reason: string): Promise<BackupRecord> {
    const failed = await this.deps.store.update<BackupRecord>(record.id, ['QUEUED'], {
      status: 'FAILED',
      reason,
      updatedAt: this.now().toISOString(),
    });
    logger.warn('backup follow-up failed', { backupId: record.id, reason });
    if (failed) await this.notify(failed);
    return failed ?? record;
  }

  private async settleCopy(record: BackupRecord) {
    return this.settleSnapshot(record);
  }

  private async settleExport(record: BackupRecord) {
    const task = (
      await this.deps
        .rdsFor(record.region)
        .send(new DescribeExportTasksCommand({ ExportTaskIdentifier: record.snapshotIdentifier }))
    ).ExportTasks?.[0];
    const status = task?.Status ?? 'MISSING';
    if (status === 'STARTING' || status === 'IN_PROGRESS' || status === 'CANCELING') return undefined;
    const at = this.now();
    const complete = status === 'COMPLETE';
    const settled = await this.deps.store.update<BackupRecord>(record.id, ['CREATING'], {
      status: complete ? 'AVAILABLE' : 'FAILED',
      ...(complete
        ? {}
        : { reason: `the export ended ${status}${task?.FailureCause ? `: ${task.FailureCause}` : ''}` }),
      ...(task?.TotalExtractedDataInGB !== undefined ? { sizeGiB: task.TotalExtractedDataInGB } : {}),
      completedAt: at.toISOString(),
      durationSeconds: Math.round((at.getTime() - Date.parse(record.createdAt)) / 1000),
      updatedAt: at.toISOString(),
    });
    if (settled) await this.notify(settled);
    return settled;
  }

  /** Slipway's snapshots of a database in its region and in copyToRegion, for retention. */
  private async snapshotsOf(name: string, db: DatabaseConfig): Promise<SnapshotInfo[]> {
    const source = this.source(db);
    const regions = [this.deps.region, ...(db.copyToRegion ? [db.copyToRegion] : [])];
    const found: SnapshotInfo[] = [];
    for (const region of regions) {
      const rds = this.deps.rdsFor(region);
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

  /** Minutes since each database's newest available snapshot: the staleness alarm watches this. */
  private async publishAges() {
    for (const database of Object.keys(this.deps.config.databases)) {
      const newest = snapshotsOnly((await this.deps.store.list(database, { limit: 50 })).items).find(
        (record) =>
          record.status === 'AVAILABLE' && record.kind !== 'snapshot-export' && record.region === this.deps.region,
      );
      publishAgeMinutes(
        'NewestBackupAgeMinutes',
        { Database: database },
        newest ? (newest.completedAt ?? newest.createdAt) : undefined,
        this.now(),
      );
    }
  }

  private async notify(record: BackupRecord) {
    await this.deps.publisher.publish({
      subject: `Slipway: ${record.database} ${record.kind} ${record.status}`,
      type: 'backup.state',
      app: record.database,
      environment: record.region,
      state: record.status,
      body: {
        backup: {
          id: record.id,
          database: record.database,
          kind: record.kind,
          status: record.status,
          snapshot: record.snapshotIdentifier,
          region: record.region,
          ...(record.reason ? { reason: record.reason } : {}),
          ...(record.sizeGiB !== undefined ? { sizeGiB: record.sizeGiB } : {}),
          ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
        },
      },
    });
  }
}
