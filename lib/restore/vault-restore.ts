import {
  DescribeDBInstancesCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  type RestoreDBInstanceFromDBSnapshotCommandInput,
  type Tag,
} from '@aws-sdk/client-rds';
import type { BackupRecord, RestoreRecord } from '../backup/records';
import { Conflict, InvalidInput, SlipwayError, Unprocessable, UpstreamFailed } from '../errors';
import { metrics } from '../observability';
import type { RestoreOverrides } from './plan';
import { errorName, NOT_FOUND, notify, type RestoresContext } from './restores-context';

/**
 * Restores of a vault copy (backups.vaultAccount): into a new DB instance in the vault account and the copy's region,
 * where the copy is, made by the vault's own role. The source's network, groups and shape are in another account
 * and cannot be copied: the snapshot's own settings are restored (RDS takes the original's instance class, engine
 * and storage from it: RestoreDBInstanceFromDBSnapshot, RDS API Reference), with the overrides the caller gives,
 * and RDS's defaults of the vault account (its default VPC's subnet group and security group) for the rest.
 */

export interface VaultRestoreRequest {
  database: string;
  targetIdentifier: string;
  /** Where the caller asks the restore to go: both must be the copy's own, or absent. */
  account?: string | undefined;
  region?: string | undefined;
  overrides?: RestoreOverrides | undefined;
  requestedBy: string;
}

const fieldProblem = (field: string, message: string) =>
  new Unprocessable(`${field}: ${message}`, { details: [{ location: 'body', field, message }] });

/** Where the restore of `copy` goes, or why not there: a copy restores only where it is. */
export function vaultRestorePlace(
  copy: Pick<BackupRecord, 'id' | 'account' | 'region' | 'status' | 'source'>,
  asked: Pick<VaultRestoreRequest, 'account' | 'region'>,
): { account: string; region: string } {
  const account = copy.account as string;
  if (copy.status !== 'AVAILABLE') {
    throw new Unprocessable(`backup ${copy.id} is ${copy.status}, not AVAILABLE`, { details: { status: copy.status } });
  }
  if (asked.account !== undefined && asked.account !== account) {
    throw fieldProblem(
      'account',
      `backup ${copy.id} is a copy in account ${account}, and a snapshot is restored in the account that holds it`,
    );
  }
  if (asked.region !== undefined && asked.region !== copy.region) {
    throw fieldProblem(
      'region',
      `backup ${copy.id} is a copy in ${copy.region}, and a snapshot is restored in its own region; copy it first`,
    );
  }
  if (copy.source.type === 'cluster') {
    throw new Unprocessable(
      `backup ${copy.id} is a copy of a DB cluster snapshot: Slipway restores vault copies of DB instances only; restore it in account ${account} with RestoreDBClusterFromSnapshot`,
      { details: { kind: 'cluster' } },
    );
  }
  return { account, region: copy.region };
}

/** The restore call: the copy's own settings, with what the caller overrides, and Slipway's tags. */
export function vaultInstanceRestore(
  copyIdentifier: string,
  targetIdentifier: string,
  overrides: RestoreOverrides,
  tags: Tag[],
): RestoreDBInstanceFromDBSnapshotCommandInput {
  const input: RestoreDBInstanceFromDBSnapshotCommandInput = {
    DBInstanceIdentifier: targetIdentifier,
    DBSnapshotIdentifier: copyIdentifier,
    DBInstanceClass: overrides.instanceClass,
    MultiAZ: overrides.multiAZ,
    StorageType: overrides.storageType,
    DBSubnetGroupName: overrides.dbSubnetGroupName,
    VpcSecurityGroupIds: overrides.vpcSecurityGroupIds,
    DBParameterGroupName: overrides.dbParameterGroupName,
    PubliclyAccessible: overrides.publiclyAccessible,
    DeletionProtection: overrides.deletionProtection,
    Tags: tags,
  };
  return Object.fromEntries(
    Object.entries(input).filter(([, value]) => value !== undefined),
  ) as RestoreDBInstanceFromDBSnapshotCommandInput;
}

/** Starts the restore of a vault copy in the vault account: a new instance, never one that exists (409). */
export async function requestVaultRestore(
  ctx: RestoresContext,
  input: VaultRestoreRequest,
  copy: BackupRecord,
  sourceIdentifier: string,
): Promise<RestoreRecord> {
  const place = vaultRestorePlace(copy, input);
  const id = ctx.newId();
  const rds = ctx.deps.rdsFor(place, { id, principal: input.requestedBy });
  if (await instanceExists(rds, input.targetIdentifier)) {
    throw new Conflict(
      `instance ${input.targetIdentifier} already exists in account ${place.account}; a restore always creates a new instance and never overwrites one`,
      { details: { targetIdentifier: input.targetIdentifier } },
    );
  }
  const tags: Tag[] = [
    { Key: 'slipway:restore-of', Value: sourceIdentifier },
    { Key: 'slipway:restore-id', Value: id },
    { Key: 'slipway:vault-copy', Value: copy.snapshotIdentifier },
  ];
  try {
    await rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand(
        vaultInstanceRestore(copy.snapshotIdentifier, input.targetIdentifier, input.overrides ?? {}, tags),
      ),
    );
  } catch (error) {
    if (error instanceof SlipwayError) throw error;
    const name = errorName(error);
    if (name.endsWith('AlreadyExistsFault')) {
      throw new Conflict(`${input.targetIdentifier} already exists; a restore never overwrites`, { cause: error });
    }
    if (name === 'InvalidParameterValue' || name === 'InvalidParameterCombination' || name.startsWith('Invalid')) {
      throw new Unprocessable(`RDS refused the restore: ${(error as Error).message}`, { cause: error });
    }
    throw new UpstreamFailed(`RDS restore of vault copy ${copy.snapshotIdentifier} failed (${name})`, { cause: error });
  }
  const at = ctx.now().toISOString();
  const record: RestoreRecord = {
    id,
    database: input.database,
    source: copy.source,
    from: { backupId: copy.id, snapshotIdentifier: copy.snapshotIdentifier },
    targetIdentifier: input.targetIdentifier,
    region: place.region,
    account: place.account,
    status: 'RESTORING',
    requestedBy: input.requestedBy,
    drill: false,
    createdAt: at,
    updatedAt: at,
  };
  await ctx.deps.store.create(record);
  metrics.addMetric('RestoresStarted', 'Count', 1);
  await notify(ctx, record);
  return record;
}

async function instanceExists(rds: RDSClient, identifier: string): Promise<boolean> {
  try {
    await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    return true;
  } catch (error) {
    if (NOT_FOUND.has(errorName(error))) return false;
    throw new UpstreamFailed(`RDS describe of ${identifier} failed (${errorName(error)})`, { cause: error });
  }
}

/** The place keys of a request that is not of a vault copy: refused, naming the key. */
export function refusePlaceElsewhere(asked: Pick<VaultRestoreRequest, 'account' | 'region'>): void {
  const field = asked.account !== undefined ? 'account' : asked.region !== undefined ? 'region' : undefined;
  if (field === undefined) return;
  const message =
    'applies only to the restore of a vault copy (backupId of a copy in backups.vaultAccount); a snapshot or a point in time of the control plane restores in its own account and region';
  throw new InvalidInput(`${field}: ${message}`, { details: [{ location: 'body', field, message }] });
}
