import { randomUUID } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, type RDSClient } from '@aws-sdk/client-rds';
import type { AuditRecorder } from '../audit/trail';
import type { Operation, Place } from '../aws/account-credentials';
import { databasePlace, restoreOperation } from '../backup/database-places';
import { type AnyRestoreRecord, isArchiveRestore, type RestoreRecord } from '../backup/records';
import type { SlipwayConfig } from '../config/schema';
import { UpstreamFailed } from '../errors';
import type { Publisher } from '../notify/publisher';
import { metrics } from '../observability';
import type { BackupStore, RestoreStore } from '../store/backups';

/**
 * What every part of the RDS restore use case shares: its ports, its clock and ids, the names of a
 * restore's target, its drill metrics, and the notification each change of a restore sends.
 */

/**
 * The control plane's own account, as a vault copy's restore into it needs it: its id, which the copy is shared with,
 * and the role its restores are made as (createRestore's), which is granted the vault key's use.
 */
export interface ControlPlaneAccount {
  accountId: string;
  restoringRoleArn: string;
}

export interface RestoresDeps {
  config: SlipwayConfig;
  store: RestoreStore;
  backups: BackupStore;
  /**
   * RDS where a restore is made: the database's account and region, or the vault account's for a vault copy's,
   * as the restore's session in another account.
   */
  rdsFor: (place: Place, operation: Operation) => RDSClient;
  /** KMS in the vault account, where a vault copy restored into another account has its key's use granted. */
  kmsFor?: (place: Place, operation: Operation) => KMSClient;
  /** The control plane's own account, where a vault copy may be restored; unknown (npm start), it may not. */
  controlPlane?: ControlPlaneAccount;
  /** The control plane's own region: a database's where it names none. */
  region: string;
  publisher: Publisher;
  /** Where what Slipway does by itself (scheduled backups, retention, drills) is recorded. */
  audit: AuditRecorder;
  now?: () => Date;
  newId?: () => string;
}

export const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');
// A database's partition also lists dump restores, which Archives follows.
export const rdsOnly = (records: AnyRestoreRecord[]) =>
  records.filter((record): record is RestoreRecord => !isArchiveRestore(record));
export const NOT_FOUND = new Set(['DBInstanceNotFoundFault', 'DBClusterNotFoundFault']);

/** DrillSuccesses or DrillFailures for the database, and the RTO of a drill that passed. */
export function drillMetric(database: string, succeeded: boolean, rtoSeconds?: number) {
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  single.setDefaultDimensions({ Database: database });
  single.addMetric(succeeded ? 'DrillSuccesses' : 'DrillFailures', 'Count', 1);
  if (rtoSeconds !== undefined) single.addMetric('DrillRtoSeconds', 'Seconds', rtoSeconds);
}

/** The drill's outcome, counted for its database, with its RTO when it passed. */
export function countDrill(record: RestoreRecord, succeeded: boolean) {
  drillMetric(record.database, succeeded, succeeded ? record.durationSeconds : undefined);
}

/** The instance a restored Aurora cluster gets as its writer (a restored cluster has none). */
export const writerIdentifier = (cluster: string) => `${cluster}-1`;

export interface RestoresContext {
  deps: RestoresDeps;
  now: () => Date;
  newId: () => string;
}

export function restoresContext(deps: RestoresDeps): RestoresContext {
  return {
    deps,
    now: deps.now ?? (() => new Date()),
    newId: deps.newId ?? (() => `rst-${randomUUID()}`),
  };
}

/** RDS where a restore's target is (its database's account, its region), as the restore's session. */
export function rdsOfRestore(ctx: Pick<RestoresContext, 'deps'>, record: RestoreRecord): RDSClient {
  // A vault copy's restore is made in the vault account (record.account), whatever the database's own.
  const place =
    record.account === undefined
      ? databasePlace(ctx.deps.config, record.database, record.region)
      : { account: record.account, region: record.region };
  return ctx.deps.rdsFor(place, restoreOperation(record));
}

/** What a restore's change of state tells whoever listens. */
export async function notify(ctx: Pick<RestoresContext, 'deps'>, record: RestoreRecord) {
  await ctx.deps.publisher.publish({
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

/** Whether an instance or cluster of that identifier exists where `rds` is. */
export async function targetExists(rds: RDSClient, type: 'instance' | 'cluster', identifier: string): Promise<boolean> {
  try {
    if (type === 'cluster') {
      await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }));
    } else {
      await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    }
    return true;
  } catch (error) {
    if (NOT_FOUND.has(errorName(error))) return false;
    throw new UpstreamFailed(`RDS describe of ${identifier} failed (${errorName(error)})`, { cause: error });
  }
}
