import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  paginateDescribeExportTasks,
  StartExportTaskCommand,
} from '@aws-sdk/client-rds';
import type { Place } from '../aws/account-credentials';
import { UpstreamFailed } from '../errors';
import { logger } from '../observability';
import { type BackupsContext, configuredDatabase, errorName, notify } from './backups-context';
import { databasePlace, rdsOfBackup } from './database-places';
import { exportRefusal, exportsFrom, exportsPrefix } from './export-places';
import { exportTaskIdentifier } from './identifiers';
import { type BackupRecord, isArchive } from './records';
import { isVaultCopy } from './vault';
import { startVaultCopyFromSource, vaultCopyRecord } from './vault-copies';

/**
 * What follows an available snapshot: a copy to another region and an export to S3, as the database
 * asks, queued and started while fewer than Slipway's and RDS's limits are in flight.
 */

/** "You can have up to five concurrent DB snapshot export tasks in progress per account" (Exporting DB snapshot data to Amazon S3, RDS User Guide). */
export const ACCOUNT_EXPORTS_IN_FLIGHT = 5;
/**
 * StartExportTask's API Reference lists no fault for the concurrent-export limit; RDS names its
 * limit faults *QuotaExceeded (SnapshotQuotaExceeded for copies), so a quota or limit fault is that.
 */
const AT_LIMIT = 'at-limit' as const;
/** ExportTask Status values of a task still running (ExportTask, RDS API Reference). */
export const RUNNING_EXPORTS = ['STARTING', 'IN_PROGRESS', 'CANCELING'];
const isLimitFault = (error: unknown) => /QuotaExceeded|LimitExceeded|LimitReached/.test(errorName(error));

/** A follow-up of an available snapshot (or copy), queued in `region`. */
function followUp(
  ctx: BackupsContext,
  snapshot: BackupRecord,
  kind: 'snapshot-copy' | 'snapshot-export',
  region: string,
): BackupRecord {
  const at = ctx.now().toISOString();
  return {
    id: ctx.newId(),
    kind,
    database: snapshot.database,
    source: snapshot.source,
    region,
    snapshotIdentifier: snapshot.snapshotIdentifier,
    status: 'QUEUED',
    trigger: `after ${snapshot.id}`,
    parentId: snapshot.id,
    createdAt: at,
    updatedAt: at,
    ...(kind === 'snapshot-export'
      ? { s3Prefix: `${exportsPrefix(snapshot.database)}${snapshot.snapshotIdentifier}` }
      : {}),
  };
}

/**
 * A copy to copyToRegion and an export to S3, as the database asks; both start when their limit allows. The export
 * is of this snapshot unless its copy is the one in the backup bucket's region (queueCopyExport).
 */
export async function queueFollowUps(ctx: BackupsContext, snapshot: BackupRecord) {
  const db = configuredDatabase(ctx, snapshot.database);
  if (db.copyToRegion) await ctx.deps.store.create(followUp(ctx, snapshot, 'snapshot-copy', db.copyToRegion));
  if (db.exportToS3 && exportsFrom(db, ctx.deps.region, snapshot.region, false)) {
    await ctx.deps.store.create(followUp(ctx, snapshot, 'snapshot-export', snapshot.region));
  }
  const vaultCopy = vaultCopyRecord(ctx, snapshot);
  if (vaultCopy) await ctx.deps.store.create(vaultCopy);
}

/** The export of an available copy, when the copy is the database's snapshot in the backup bucket's region. */
export async function queueCopyExport(ctx: BackupsContext, copy: BackupRecord) {
  const db = configuredDatabase(ctx, copy.database);
  if (db.exportToS3 && exportsFrom(db, ctx.deps.region, copy.region, true)) {
    await ctx.deps.store.create(followUp(ctx, copy, 'snapshot-export', copy.region));
  }
}

/**
 * Starts queued copies and exports, oldest first, while fewer than the limits are in flight. Exports
 * also wait while the account's own limit is reached, whoever started them.
 */
export async function startQueued(ctx: BackupsContext): Promise<Array<{ id: string; outcome: string }>> {
  const { maxCopiesInFlight, maxExportsInFlight } = ctx.deps.config.backups;
  const all = (
    await Promise.all(
      Object.keys(ctx.deps.config.databases).map((database) =>
        ctx.deps.store.withStatus(database, ['QUEUED', 'CREATING']),
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
  // The account export limit is each account's own: counted where each export runs, once.
  const accountExports = new Map<string, number>();
  const placeOf = (record: BackupRecord) => databasePlace(ctx.deps.config, record.database, record.region);
  const keyOf = (place: Place) => `${place.account ?? ''}/${place.region}`;
  for (const record of queued.filter((one) => one.kind === 'snapshot-export')) {
    const place = placeOf(record);
    if (!accountExports.has(keyOf(place))) accountExports.set(keyOf(place), await exportsInFlightOrFull(ctx, place));
  }
  const outcomes: Array<{ id: string; outcome: string }> = [];
  for (const record of queued) {
    const isCopy = record.kind === 'snapshot-copy';
    if (isCopy ? copies >= maxCopiesInFlight : exports >= maxExportsInFlight) {
      outcomes.push({ id: record.id, outcome: 'queued (limit reached)' });
      continue;
    }
    const place = keyOf(placeOf(record));
    if (!isCopy && (accountExports.get(place) ?? 0) >= ACCOUNT_EXPORTS_IN_FLIGHT) {
      outcomes.push({ id: record.id, outcome: 'queued (account export limit reached)' });
      continue;
    }
    const started = isCopy ? await startCopy(ctx, record) : await startExport(ctx, record);
    if (started === AT_LIMIT) {
      // The account is full until one of its exports ends; this one stays first in the queue.
      accountExports.set(place, ACCOUNT_EXPORTS_IN_FLIGHT);
      outcomes.push({ id: record.id, outcome: 'queued (RDS refused it at its export limit)' });
      continue;
    }
    if (started.status === 'CREATING') {
      if (isCopy) copies += 1;
      else {
        exports += 1;
        accountExports.set(place, (accountExports.get(place) ?? 0) + 1);
      }
    }
    outcomes.push({ id: record.id, outcome: started.status });
  }
  return outcomes;
}

/**
 * Export tasks of the account still running in the region, Slipway's and anyone else's: asked in the database's
 * account and region (the control plane's own credentials at home, a session on the account's role elsewhere).
 */
async function exportsInFlight(ctx: BackupsContext, place: Place): Promise<number> {
  let count = 0;
  for await (const page of paginateDescribeExportTasks(
    { client: ctx.deps.rdsFor(place, { id: 'exports-in-flight', principal: 'slipway' }) },
    // Filter values are lowercase (DescribeExportTasks, RDS API Reference).
    { Filters: [{ Name: 'status', Values: ['starting', 'in_progress', 'canceling'] }] },
  )) {
    // Counted by status as well: a task the filter let through that has ended holds no place.
    count += (page.ExportTasks ?? []).filter((task) =>
      RUNNING_EXPORTS.includes((task.Status ?? '').toUpperCase()),
    ).length;
  }
  return count;
}

/** The account's running exports; when they cannot be counted (its role refused), full: its exports wait, others start. */
async function exportsInFlightOrFull(ctx: BackupsContext, place: Place): Promise<number> {
  try {
    return await exportsInFlight(ctx, place);
  } catch (error) {
    logger.warn('export tasks not counted: exports there stay queued', { ...place, error: error as Error });
    return ACCOUNT_EXPORTS_IN_FLIGHT;
  }
}

async function parentOf(ctx: BackupsContext, record: BackupRecord): Promise<BackupRecord> {
  const found = record.parentId ? await ctx.deps.store.get(record.parentId) : undefined;
  const parent = found && !isArchive(found) ? found : undefined;
  if (!parent?.snapshotArn) throw new UpstreamFailed(`backup ${record.id} has no source snapshot ARN to start from`);
  return parent;
}

async function startCopy(ctx: BackupsContext, record: BackupRecord): Promise<BackupRecord> {
  const db = configuredDatabase(ctx, record.database);
  const parent = await parentOf(ctx, record);
  if (isVaultCopy(record)) return startVaultCopyFromSource(ctx, record, parent);
  if (parent.encrypted && !db.copyKmsKeyId) {
    return failQueued(
      ctx,
      record,
      `the snapshot is encrypted and database ${record.database} has no copyKmsKeyId in ${record.region}`,
    );
  }
  // Called in the destination region with the source's ARN; a presigned URL is only needed in GovCloud.
  const destination = rdsOfBackup(ctx, record);
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
      (await ctx.deps.store.update<BackupRecord>(record.id, ['QUEUED'], {
        status: 'CREATING',
        ...(arn ? { snapshotArn: arn } : {}),
        encrypted: parent.encrypted,
        updatedAt: ctx.now().toISOString(),
      })) ?? record
    );
  } catch (error) {
    return failQueued(
      ctx,
      record,
      `RDS refused the copy (${errorName(error)}): ${(error as Error).message}`.slice(0, 500),
    );
  }
}

async function startExport(ctx: BackupsContext, record: BackupRecord): Promise<BackupRecord | typeof AT_LIMIT> {
  const db = configuredDatabase(ctx, record.database);
  const refusal = exportRefusal(db, ctx.deps.region, record.region);
  if (refusal !== undefined) return failQueued(ctx, record, refusal);
  const parent = await parentOf(ctx, record);
  const taskIdentifier = exportTaskIdentifier(record.snapshotIdentifier);
  try {
    await rdsOfBackup(ctx, record).send(
      new StartExportTaskCommand({
        ExportTaskIdentifier: taskIdentifier,
        SourceArn: parent.snapshotArn,
        S3BucketName: ctx.deps.backupBucket,
        S3Prefix: record.s3Prefix,
        IamRoleArn: db.exportRoleArn,
        KmsKeyId: db.exportKmsKeyId,
      }),
    );
    return (
      (await ctx.deps.store.update<BackupRecord>(record.id, ['QUEUED'], {
        status: 'CREATING',
        snapshotIdentifier: taskIdentifier,
        updatedAt: ctx.now().toISOString(),
      })) ?? record
    );
  } catch (error) {
    if (isLimitFault(error)) {
      logger.info('export left queued: RDS is at its export limit', { backupId: record.id, error: error as Error });
      return AT_LIMIT;
    }
    return failQueued(
      ctx,
      record,
      `RDS refused the export (${errorName(error)}): ${(error as Error).message}`.slice(0, 500),
    );
  }
}

async function failQueued(ctx: BackupsContext, record: BackupRecord, reason: string): Promise<BackupRecord> {
  const failed = await ctx.deps.store.update<BackupRecord>(record.id, ['QUEUED'], {
    status: 'FAILED',
    reason,
    updatedAt: ctx.now().toISOString(),
  });
  logger.warn('backup follow-up failed', { backupId: record.id, reason });
  if (failed) await notify(ctx, failed);
  return failed ?? record;
}
