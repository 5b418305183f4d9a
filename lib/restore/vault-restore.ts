import { CreateGrantCommand, type GrantOperation } from '@aws-sdk/client-kms';
import {
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  type DBCluster,
  type DBClusterSnapshot,
  DescribeDBClusterSnapshotsCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  type RestoreDBClusterFromSnapshotCommandInput,
  RestoreDBInstanceFromDBSnapshotCommand,
  type RestoreDBInstanceFromDBSnapshotCommandInput,
  type Tag,
} from '@aws-sdk/client-rds';
import type { BackupRecord, RestoreRecord } from '../backup/records';
import { changeSnapshotShare } from '../backup/snapshot-shares';
import { VAULT_GRANT_OPERATIONS } from '../backup/vault';
import { accountIdOf } from '../config/account-ids';
import { CONTROL_PLANE_ACCOUNT } from '../config/names';
import { Conflict, InvalidInput, SlipwayError, Unprocessable, UpstreamFailed } from '../errors';
import { logger, metrics } from '../observability';
import { clusterWriter, isMultiAZCluster, type RestoreOverrides } from './plan';
import {
  type ControlPlaneAccount,
  errorName,
  notify,
  type RestoresContext,
  targetExists,
  writerIdentifier,
} from './restores-context';

/**
 * Restores of a vault copy (backups.vaultAccount): into a new DB instance or cluster in the copy's region, in the vault
 * account or in another account config names. The source's network, groups and shape are in another account and
 * cannot be copied: the snapshot's own settings are restored (RDS takes the original's engine, storage and, for an
 * instance, its class from it: RestoreDBInstanceFromDBSnapshot, RestoreDBClusterFromSnapshot, RDS API Reference), with
 * the overrides the caller gives, and RDS's defaults of the target account (its default VPC's subnet group and security
 * group) for the rest. Into another account, the vault's role shares the copy with it (and grants its role the use of
 * the vault's key for an encrypted copy) and the target's role restores it by ARN; the share is removed once the
 * restore ends (restore-settlement.ts, vault-restore-shares.ts). Into the control plane's own account
 * (`account: "@control-plane"`), the same, with the control plane's restoring role as the target's role.
 */

export interface VaultRestoreRequest {
  database: string;
  targetIdentifier: string;
  /**
   * Where the caller asks the restore to go: an account under accounts, or CONTROL_PLANE_ACCOUNT (absent: the vault),
   * and the copy's region.
   */
  account?: string | undefined;
  region?: string | undefined;
  overrides?: RestoreOverrides | undefined;
  requestedBy: string;
}

/** Where a vault copy is restored, and what letting another account restore it takes. */
export interface VaultRestorePlace {
  /** The target account's name under accounts; undefined: the control plane's own account. */
  account: string | undefined;
  region: string;
  /** Into another account than the vault: the copy is shared with it, and its key's use granted to its role. */
  share?: { vault: string; accountId: string; granteeRoleArn: string; snapshotArn: string; kmsKeyId?: string };
}

interface AccountsConfig {
  accounts: Record<string, { roleArn: string; regions?: string[] | undefined }>;
}

/** The grant on the vault's key to a target account's role: one per name, grantee and operations in KMS. */
export const VAULT_RESTORE_GRANT_NAME = 'slipway-vault-restores';

const fieldProblem = (field: string, message: string) =>
  new Unprocessable(`${field}: ${message}`, { details: [{ location: 'body', field, message }] });

/**
 * Where the restore of `copy` goes, or why not there: the vault or an account under accounts, in the copy's region
 * (a snapshot is restored in its own region; copying it to another is not a restore).
 */
export function vaultRestorePlace(
  copy: Pick<
    BackupRecord,
    'id' | 'account' | 'region' | 'status' | 'source' | 'snapshotArn' | 'encrypted' | 'kmsKeyId'
  >,
  asked: Pick<VaultRestoreRequest, 'account' | 'region'>,
  config: AccountsConfig,
  controlPlane?: ControlPlaneAccount,
): VaultRestorePlace {
  const vault = copy.account as string;
  if (copy.status !== 'AVAILABLE') {
    throw new Unprocessable(`backup ${copy.id} is ${copy.status}, not AVAILABLE`, { details: { status: copy.status } });
  }
  const home = asked.account === CONTROL_PLANE_ACCOUNT;
  const account = asked.account ?? vault;
  if (home && controlPlane === undefined) {
    throw fieldProblem(
      'account',
      `${CONTROL_PLANE_ACCOUNT} is not known where this control plane runs (npm start names no restoring role); restore into the vault or an account under accounts`,
    );
  }
  const target = home
    ? { roleArn: (controlPlane as ControlPlaneAccount).restoringRoleArn, regions: undefined }
    : Object.hasOwn(config.accounts, account)
      ? config.accounts[account]
      : undefined;
  if (target === undefined) {
    throw fieldProblem(
      'account',
      `${account} is not a name under accounts (${Object.keys(config.accounts).join(', ')}) nor ${CONTROL_PLANE_ACCOUNT}: a vault copy is restored into an account Slipway assumes a role in, or the control plane's own`,
    );
  }
  if (asked.region !== undefined && asked.region !== copy.region) {
    throw fieldProblem(
      'region',
      `backup ${copy.id} is a copy in ${copy.region}, and a snapshot is restored in its own region; copy it first`,
    );
  }
  if (target.regions !== undefined && !target.regions.includes(copy.region)) {
    throw fieldProblem(
      'region',
      `backup ${copy.id} is a copy in ${copy.region}, a region accounts.${account}.regions does not list (${target.regions.join(', ')})`,
    );
  }
  if (account === vault) return { account, region: copy.region };
  const where = home ? "the control plane's account" : `account ${account}`;
  // RestoreDBInstanceFromDBSnapshot: "If you are restoring from a shared manual DB snapshot, the DBSnapshotIdentifier
  // must be the ARN of the shared DB snapshot" (RDS API Reference).
  if (!copy.snapshotArn) {
    throw fieldProblem('account', `backup ${copy.id} has no ARN, by which ${where} would restore it`);
  }
  if (copy.encrypted && !copy.kmsKeyId) {
    throw fieldProblem(
      'account',
      `backup ${copy.id} is encrypted with a key Slipway does not know, whose use ${where} would need`,
    );
  }
  return {
    account: home ? undefined : account,
    region: copy.region,
    share: {
      vault,
      accountId: accountIdOf(target.roleArn),
      granteeRoleArn: target.roleArn,
      snapshotArn: copy.snapshotArn,
      ...(copy.encrypted && copy.kmsKeyId ? { kmsKeyId: copy.kmsKeyId } : {}),
    },
  };
}

const defined = <T extends object>(input: T): T =>
  Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as T;

/** The restore call: the copy's own settings, with what the caller overrides, and Slipway's tags. */
export function vaultInstanceRestore(
  copy: string,
  targetIdentifier: string,
  overrides: RestoreOverrides,
  tags: Tag[],
): RestoreDBInstanceFromDBSnapshotCommandInput {
  return defined({
    DBInstanceIdentifier: targetIdentifier,
    DBSnapshotIdentifier: copy,
    DBInstanceClass: overrides.instanceClass,
    MultiAZ: overrides.multiAZ,
    StorageType: overrides.storageType,
    DBSubnetGroupName: overrides.dbSubnetGroupName,
    VpcSecurityGroupIds: overrides.vpcSecurityGroupIds,
    DBParameterGroupName: overrides.dbParameterGroupName,
    PubliclyAccessible: overrides.publiclyAccessible,
    DeletionProtection: overrides.deletionProtection,
    Tags: tags,
  });
}

/** What restoring a cluster's vault copy sends: the cluster, then (Aurora) its writer. */
export interface VaultClusterRestore {
  cluster: RestoreDBClusterFromSnapshotCommandInput;
  writer?: CreateDBInstanceCommandInput;
  multiAZCluster: boolean;
}

/**
 * The restore of a cluster's vault copy, from the copy's description: its engine and version (without a version RDS
 * restores into the Region's default), the caller's overrides, Slipway's tags. The copy names no instance class (the
 * writer's, or a Multi-AZ DB cluster's DBClusterInstanceClass), so the caller gives overrides.instanceClass.
 */
export function vaultClusterRestore(
  snapshot: Pick<DBClusterSnapshot, 'DBClusterIdentifier' | 'Engine' | 'EngineVersion' | 'StorageType'>,
  copy: string,
  targetIdentifier: string,
  overrides: RestoreOverrides,
  tags: Tag[],
): VaultClusterRestore {
  if (overrides.instanceClass === undefined) {
    throw fieldProblem(
      'overrides.instanceClass',
      `a cluster snapshot names no instance class; give the class of ${targetIdentifier}'s ${snapshot.Engine?.startsWith('aurora') ? 'writer' : 'instances'}`,
    );
  }
  // The copy's source as the shared planner reads a cluster: its engine decides Aurora or Multi-AZ DB cluster.
  const source: DBCluster = { DBClusterIdentifier: snapshot.DBClusterIdentifier, Engine: snapshot.Engine };
  const multiAZCluster = isMultiAZCluster(source);
  const cluster = defined<RestoreDBClusterFromSnapshotCommandInput>({
    DBClusterIdentifier: targetIdentifier,
    SnapshotIdentifier: copy,
    Engine: snapshot.Engine,
    EngineVersion: overrides.engineVersion ?? snapshot.EngineVersion,
    DBClusterInstanceClass: multiAZCluster ? overrides.instanceClass : undefined,
    StorageType: overrides.storageType ?? (multiAZCluster ? snapshot.StorageType : undefined),
    DBSubnetGroupName: overrides.dbSubnetGroupName,
    VpcSecurityGroupIds: overrides.vpcSecurityGroupIds,
    DBClusterParameterGroupName: overrides.dbClusterParameterGroupName,
    PubliclyAccessible: multiAZCluster ? overrides.publiclyAccessible : undefined,
    DeletionProtection: overrides.deletionProtection,
    Tags: tags,
  });
  if (multiAZCluster) return { cluster, multiAZCluster };
  const writer = {
    ...clusterWriter(source, undefined, targetIdentifier, overrides, tags),
    DBInstanceIdentifier: writerIdentifier(targetIdentifier),
  };
  return { cluster, writer, multiAZCluster };
}

/** Starts the restore of a vault copy: a new instance or cluster, never one that exists (409). */
export async function requestVaultRestore(
  ctx: RestoresContext,
  input: VaultRestoreRequest,
  copy: BackupRecord,
  sourceIdentifier: string,
): Promise<RestoreRecord> {
  const place = vaultRestorePlace(copy, input, ctx.deps.config, ctx.deps.controlPlane);
  const id = ctx.newId();
  const operation = { id, principal: input.requestedBy };
  const rds = ctx.deps.rdsFor({ account: place.account, region: place.region }, operation);
  const type = copy.source.type;
  if (await targetExists(rds, type, input.targetIdentifier)) {
    throw new Conflict(
      `${type} ${input.targetIdentifier} already exists in ${place.account === undefined ? "the control plane's account" : `account ${place.account}`}; a restore always creates a new ${type} and never overwrites one`,
      { details: { targetIdentifier: input.targetIdentifier } },
    );
  }
  const vaultRds = place.share ? ctx.deps.rdsFor({ account: place.share.vault, region: place.region }, operation) : rds;
  const tags: Tag[] = [
    { Key: 'slipway:restore-of', Value: sourceIdentifier },
    { Key: 'slipway:restore-id', Value: id },
    { Key: 'slipway:vault-copy', Value: copy.snapshotIdentifier },
  ];
  // Another account names the shared copy by its ARN; the vault, by its identifier.
  const snapshot = place.share?.snapshotArn ?? copy.snapshotIdentifier;
  const overrides = input.overrides ?? {};
  let multiAZCluster = false;
  let step: 'plan' | 'share' | 'grant' | 'restore' = 'plan';
  try {
    // Planned whole before the first change, so that a plan that cannot be made shares nothing.
    let restore: () => Promise<unknown>;
    if (type === 'cluster') {
      const described = await describeClusterCopy(vaultRds, copy.snapshotIdentifier);
      const plan = vaultClusterRestore(described, snapshot, input.targetIdentifier, overrides, tags);
      multiAZCluster = plan.multiAZCluster;
      restore = async () => {
        await rds.send(new RestoreDBClusterFromSnapshotCommand(plan.cluster));
        if (plan.writer) await rds.send(new CreateDBInstanceCommand(plan.writer));
      };
    } else {
      const command = new RestoreDBInstanceFromDBSnapshotCommand(
        vaultInstanceRestore(snapshot, input.targetIdentifier, overrides, tags),
      );
      restore = () => rds.send(command);
    }
    if (place.share) {
      step = 'share';
      await changeSnapshotShare(
        vaultRds,
        { type, identifier: copy.snapshotIdentifier, accountId: place.share.accountId },
        'add',
      );
      if (place.share.kmsKeyId) {
        step = 'grant';
        await grantVaultKey(ctx, place, operation);
      }
    }
    step = 'restore';
    await restore();
  } catch (error) {
    if (place.share && step !== 'plan') await unshareAfterRefusal(vaultRds, copy, place.share.accountId);
    if (error instanceof SlipwayError) throw error;
    const name = errorName(error);
    if (name.endsWith('AlreadyExistsFault')) {
      throw new Conflict(`${input.targetIdentifier} already exists; a restore never overwrites`, { cause: error });
    }
    if (name === 'InvalidParameterValue' || name === 'InvalidParameterCombination' || name.startsWith('Invalid')) {
      throw new Unprocessable(`RDS refused the restore: ${(error as Error).message}`, { cause: error });
    }
    const what = { plan: 'describe of', share: 'share of', grant: 'key grant for', restore: 'restore of' }[step];
    throw new UpstreamFailed(
      `${step === 'grant' ? 'KMS' : 'RDS'} ${what} vault copy ${copy.snapshotIdentifier} failed (${name})`,
      {
        cause: error,
      },
    );
  }
  const at = ctx.now().toISOString();
  const record: RestoreRecord = {
    id,
    database: input.database,
    source: copy.source,
    from: { backupId: copy.id, snapshotIdentifier: copy.snapshotIdentifier },
    targetIdentifier: input.targetIdentifier,
    region: place.region,
    ...(place.account === undefined ? {} : { account: place.account }),
    ...(place.share ? { vaultShare: { vault: place.share.vault, accountId: place.share.accountId } } : {}),
    ...(multiAZCluster ? { multiAZCluster } : {}),
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

/**
 * The target's role may use the vault's key through RDS: a shared encrypted snapshot is restored by an account that
 * may use its key (RDS User Guide, "Sharing encrypted snapshots"). The grant stays: the restored database is encrypted
 * with the snapshot's key (RestoreDBInstanceFromDBSnapshot takes no other; RestoreDBClusterFromSnapshot, KmsKeyId).
 */
async function grantVaultKey(
  ctx: RestoresContext,
  place: VaultRestorePlace,
  operation: { id: string; principal: string },
): Promise<void> {
  const share = place.share as NonNullable<VaultRestorePlace['share']>;
  if (!ctx.deps.kmsFor) throw new UpstreamFailed('KMS in the vault account is not wired for restores');
  await ctx.deps.kmsFor({ account: share.vault, region: place.region }, operation).send(
    new CreateGrantCommand({
      KeyId: share.kmsKeyId,
      GranteePrincipal: share.granteeRoleArn,
      Name: VAULT_RESTORE_GRANT_NAME,
      Operations: [...VAULT_GRANT_OPERATIONS] as GrantOperation[],
    }),
  );
}

/** A restore RDS refused leaves no share behind; one that cannot be removed now is logged for an operator. */
async function unshareAfterRefusal(rds: RDSClient, copy: BackupRecord, accountId: string): Promise<void> {
  try {
    await changeSnapshotShare(
      rds,
      { type: copy.source.type, identifier: copy.snapshotIdentifier, accountId },
      'remove',
    );
  } catch (error) {
    logger.error('vault copy left shared after a refused restore', {
      snapshot: copy.snapshotIdentifier,
      accountId,
      error: error as Error,
    });
  }
}

async function describeClusterCopy(rds: RDSClient, identifier: string): Promise<DBClusterSnapshot> {
  const found = (await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier })))
    .DBClusterSnapshots?.[0];
  if (!found) throw new UpstreamFailed(`RDS returned no cluster snapshot ${identifier} in the vault`);
  return found;
}

/** The place keys of a request that is not of a vault copy: refused, naming the key. */
export function refusePlaceElsewhere(asked: Pick<VaultRestoreRequest, 'account' | 'region'>): void {
  const field = asked.account !== undefined ? 'account' : asked.region !== undefined ? 'region' : undefined;
  if (field === undefined) return;
  const message =
    'applies only to the restore of a vault copy (backupId of a copy in backups.vaultAccount); a snapshot or a point in time of the control plane restores in its own account and region';
  throw new InvalidInput(`${field}: ${message}`, { details: [{ location: 'body', field, message }] });
}
