import { restoreTargetPrefix } from '../../backup/identifiers';
import { VAULT_COPY_TAG, VAULT_GRANT_OPERATIONS, vaultOf } from '../../backup/vault';
import type { DatabaseConfig, SlipwayConfig } from '../../config/schema';
import { keyRegion, vaultKeyList } from '../../config/vault-keys';
import { camel, sub, unique } from './cloudformation';
import { snapshotPrefix } from './databases';

/**
 * What restoring a vault copy into an account takes of the roles (lib/restore/vault-restore.ts), as a policy of its
 * own, SlipwayVaultRestores:
 * - the vault's role shares Slipway's vault copies (tagged slipway:vault-copy) for a restore and stops sharing them,
 *   grants the use of the vault's keys to the other accounts' roles and the control plane's restoring role alone,
 *   with the operations a restore takes, and
 *   restores a cluster's copy into a new cluster and its writer in the vault itself;
 * - any other account's role restores the vault's copies, by ARN, into new instances and clusters named by the restore
 *   rule, in the copies' regions, using the vault's key through RDS there.
 * A copy is in its database's region; a database in the vault account itself has none.
 */

type Json = Record<string, unknown>;

interface Copied {
  name: string;
  db: DatabaseConfig;
  type: 'instance' | 'cluster';
  identifier: string;
  region: string;
}

const rdsArn = (region: string, account: string, resource: string) =>
  sub(`arn:\${AWS::Partition}:rds:${region}:${account}:${resource}`);

/** The databases that have vault copies, each with its region; none without a vault. */
function copiedDatabases(config: SlipwayConfig, controlPlaneRegion: string): Copied[] {
  const vault = config.backups.vaultAccount;
  if (vault === undefined) return [];
  return Object.entries(config.databases)
    .filter(([, db]) => db.account !== vault)
    .map(([name, db]) => ({
      name,
      db,
      type: db.rdsCluster ? ('cluster' as const) : ('instance' as const),
      identifier: (db.rdsCluster ?? db.rdsInstance) as string,
      region: db.region ?? controlPlaneRegion,
    }));
}

/** What a restore of a copy creates in `account`: `<source>-restore-*`, an Aurora cluster with its writer. */
const targetsOf = (copied: Copied, account: string) => {
  const prefix = restoreTargetPrefix(copied.identifier);
  return [
    ...(copied.type === 'cluster' ? [rdsArn(copied.region, account, `cluster:${prefix}*`)] : []),
    rdsArn(copied.region, account, `db:${prefix}*`),
  ];
};

/** The copies of a database in the vault: its snapshots' identifiers, kept by the copy. */
const copiesOf = (copied: Copied, vaultAccount: string) =>
  rdsArn(
    copied.region,
    vaultAccount,
    `${copied.type === 'cluster' ? 'cluster-snapshot' : 'snapshot'}:${snapshotPrefix(copied.name)}*`,
  );

const groupsIn = (regions: string[], account: string) =>
  regions.flatMap((region) => ['subgrp', 'og', 'pg', 'cluster-pg'].map((type) => rdsArn(region, account, `${type}:*`)));

const RESTORES = ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:RestoreDBClusterFromSnapshot'];

/** The restoring statements of `account`'s role: into the vault itself, or into another account. */
function restoreStatements(copied: Copied[], vaultAccount: string, into: string, keys: string[]): Json[] {
  const regions = unique(copied.map((one) => one.region)).sort();
  const targets = unique(copied.flatMap((one) => targetsOf(one, into)));
  return [
    {
      Sid: 'ReadRestoredVaultCopies',
      Effect: 'Allow',
      Action: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters', 'rds:DescribeDBClusterSnapshots'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': regions } },
    },
    // A shared copy is named by its ARN in the vault account (RestoreDBInstanceFromDBSnapshot, RDS API Reference).
    {
      Sid: 'RestoreFromVaultCopies',
      Effect: 'Allow',
      Action: RESTORES,
      Resource: unique(copied.map((one) => copiesOf(one, vaultAccount))),
    },
    {
      Sid: 'RestoreVaultCopiesIntoNewDatabases',
      Effect: 'Allow',
      Action: [...RESTORES, 'rds:CreateDBInstance', 'rds:AddTagsToResource'],
      Resource: targets,
    },
    {
      Sid: 'RestoreVaultCopiesWithGroups',
      Effect: 'Allow',
      Action: [...RESTORES, 'rds:CreateDBInstance'],
      Resource: groupsIn(regions, into),
    },
    // RDS restores an encrypted copy with the vault's key, creating a grant on it as the caller.
    ...keys.map((key) => ({
      Sid: `UseVaultKeyThroughRdsIn${camel(keyRegion(key))}`,
      Effect: 'Allow',
      Action: ['kms:CreateGrant', 'kms:DescribeKey'],
      Resource: [key],
      Condition: { StringEquals: { 'kms:ViaService': `rds.${keyRegion(key)}.amazonaws.com` } },
    })),
  ];
}

/**
 * What the vault's role adds: sharing its copies, and granting its keys to the other accounts' roles and to the
 * control plane's restoring role (createRestore's, `restoringRole`), which restores a copy into its own account.
 */
function sharingStatements(
  config: SlipwayConfig,
  copied: Copied[],
  keys: string[],
  vaultName: string,
  restoringRole: string,
): Json[] {
  const own = `\${AWS::AccountId}`;
  const grantees = [
    ...Object.entries(config.accounts)
      .filter(([name]) => name !== vaultName)
      .map(([, account]) => account.roleArn),
    sub(`arn:\${AWS::Partition}:iam::\${ControlPlaneAccountId}:role/${restoringRole}`),
  ];
  return [
    {
      Sid: 'ShareVaultCopiesForRestores',
      Effect: 'Allow',
      Action: ['rds:ModifyDBSnapshotAttribute', 'rds:ModifyDBClusterSnapshotAttribute'],
      Resource: unique(copied.map((one) => copiesOf(one, own))),
      Condition: { StringEquals: { [`aws:ResourceTag/${VAULT_COPY_TAG}`]: 'true' } },
    },
    ...(keys.length > 0 && grantees.length > 0
      ? [
          {
            Sid: 'GrantVaultKeysToRestoringRoles',
            Effect: 'Allow',
            Action: ['kms:CreateGrant'],
            Resource: keys,
            Condition: {
              StringEquals: { 'kms:GranteePrincipal': grantees },
              'ForAllValues:StringEquals': { 'kms:GrantOperations': [...VAULT_GRANT_OPERATIONS] },
            },
          },
        ]
      : []),
  ];
}

/**
 * The SlipwayVaultRestores policy of `account`'s role; undefined without a vault or a database with vault copies.
 * `restoringRole`: the name of the control plane's role that restores a copy into its own account (createRestore's).
 */
export function vaultRestorePolicy(
  config: SlipwayConfig,
  account: string,
  controlPlaneRegion: string,
  restoringRole: string,
): Json | undefined {
  const vault = vaultOf(config);
  if (vault === undefined) return undefined;
  const listed = config.accounts[account]?.regions;
  // An account restores only in the regions it lists; a copy is restored in its own region.
  const copied = copiedDatabases(config, controlPlaneRegion).filter(
    (one) => listed === undefined || listed.includes(one.region),
  );
  if (copied.length === 0) return undefined;
  const regions = new Set(copied.map((one) => one.region));
  const keys = vaultKeyList(config.backups.vaultKmsKey).filter((key) => regions.has(keyRegion(key)));
  const isVault = account === vault.account;
  const statements = isVault
    ? [
        ...sharingStatements(config, copied, keys, vault.account, restoringRole),
        ...restoreStatements(copied, `\${AWS::AccountId}`, `\${AWS::AccountId}`, keys),
      ]
    : restoreStatements(copied, vault.accountId, `\${AWS::AccountId}`, keys);
  return { PolicyName: 'SlipwayVaultRestores', PolicyDocument: { Version: '2012-10-17', Statement: statements } };
}
