import { VAULT_COPY_TAG } from '../../backup/vault';
import { accountIdOf } from '../../config/account-ids';
import type { DatabaseConfig, SlipwayConfig } from '../../config/schema';
import { keyRegion, vaultKeyList } from '../../config/vault-keys';
import { sub, unique } from './cloudformation';

/**
 * What the vault account's role (backups.vaultAccount) holds, as a policy of its own: it copies the snapshots the
 * databases' accounts (the control plane's, and member accounts holding databases) share with it, in the databases'
 * regions, tagged as vault copies; reads its snapshots and instances; deletes only the
 * snapshots it copied (named slipway-*, tagged slipway:vault-copy); and uses the vault's key, and the sources' keys,
 * only through RDS. Nothing of it deletes or changes what the source account holds. Restoring its copies, in the vault
 * or in another account, is SlipwayVaultRestores' (vault-restores.ts). RDS's events about the copies are not forwarded: the reconciler asks the
 * vault through this role (lib/backup/vault-copies.ts).
 */

type Json = Record<string, unknown>;

/** The id of the account holding a database, as the template names it: the control plane's is a parameter. */
const sourceAccountId = (config: SlipwayConfig, db: DatabaseConfig) =>
  db.account === undefined ? `\${ControlPlaneAccountId}` : accountIdOf(config.accounts[db.account]?.roleArn ?? '');

const rdsArn = (region: string, account: string, resource: string) =>
  sub(`arn:\${AWS::Partition}:rds:${region}:${account}:${resource}`);

/** A region as a statement id may hold it (letters and digits): eu-west-1 → EuWest1. */
const pascal = (region: string) =>
  region
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** The vault policy of `account`'s role; undefined for any other account. */
export function vaultPolicy(config: SlipwayConfig, account: string, controlPlaneRegion: string): Json | undefined {
  if (config.backups.vaultAccount !== account) return undefined;
  // A database in the vault account itself gets no vault copy (lib/backup/vault.ts, planVaultCopy).
  const databases = Object.values(config.databases).filter((db) => db.account !== account);
  // Copies are made in their snapshot's region: each database's.
  const regions = [...new Set(databases.map((db) => db.region ?? controlPlaneRegion))].sort();
  const kindOf = (db: DatabaseConfig) => (db.rdsCluster ? 'cluster-snapshot' : 'snapshot');
  const kinds = [...new Set(databases.map(kindOf))].sort().reverse();
  const vaultAccount = `\${AWS::AccountId}`;
  const own = (resource: string) => regions.map((region) => rdsArn(region, vaultAccount, resource));
  const copies = kinds.flatMap((kind) => own(`${kind}:slipway-*`));
  // The shared snapshots, where each database is: the control plane's account, or the member account holding it.
  const sources = unique(
    databases.map((db) =>
      rdsArn(db.region ?? controlPlaneRegion, sourceAccountId(config, db), `${kindOf(db)}:slipway-*`),
    ),
  );
  const copyActions = [
    ...(kinds.includes('snapshot') ? ['rds:CopyDBSnapshot'] : []),
    ...(kinds.includes('cluster-snapshot') ? ['rds:CopyDBClusterSnapshot'] : []),
  ];
  const deleteActions = [
    ...(kinds.includes('snapshot') ? ['rds:DeleteDBSnapshot'] : []),
    ...(kinds.includes('cluster-snapshot') ? ['rds:DeleteDBClusterSnapshot'] : []),
  ];
  const sourceKeys = [...new Set(databases.flatMap((db) => (db.kmsKeyArn ? [db.kmsKeyArn] : [])))];
  const viaRds = { StringEquals: { 'kms:ViaService': regions.map((region) => `rds.${region}.amazonaws.com`) } };
  const isVaultCopy = { [`aws:ResourceTag/${VAULT_COPY_TAG}`]: 'true' };
  const statements: Json[] = [
    // The source snapshot and the copy are both authorised; a copy without the vault tag is refused.
    {
      Sid: 'CopySharedSnapshotsIntoTheVault',
      Effect: 'Allow',
      Action: copyActions,
      Resource: [...sources, ...copies],
      Condition: { StringEquals: { [`aws:RequestTag/${VAULT_COPY_TAG}`]: 'true' } },
    },
    {
      Sid: 'TagVaultCopies',
      Effect: 'Allow',
      Action: ['rds:AddTagsToResource'],
      Resource: copies,
    },
    // Describe calls that list name no resource (Service Authorization Reference, Amazon RDS): held to the regions.
    {
      Sid: 'ReadTheVault',
      Effect: 'Allow',
      Action: ['rds:DescribeDBSnapshots', 'rds:DescribeDBClusterSnapshots', 'rds:DescribeDBInstances'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': regions } },
    },
    {
      Sid: 'DeleteOnlySlipwaysVaultCopies',
      Effect: 'Allow',
      Action: deleteActions,
      Resource: copies,
      Condition: { StringEquals: isVaultCopy },
    },
  ];
  for (const key of vaultKeyList(config.backups.vaultKmsKey)) {
    // RDS encrypts the copy with the vault's key of its region, creating grants on it as the caller.
    statements.push({
      Sid: `UseTheVaultKeyThroughRdsIn${pascal(keyRegion(key))}`,
      Effect: 'Allow',
      Action: ['kms:CreateGrant', 'kms:DescribeKey'],
      Resource: [key],
      Condition: { StringEquals: { 'kms:ViaService': `rds.${keyRegion(key)}.amazonaws.com` } },
    });
  }
  if (sourceKeys.length > 0) {
    // What the target account of a shared encrypted snapshot is allowed on its key (RDS User Guide, "Sharing encrypted snapshots").
    statements.push({
      Sid: 'ReadSharedSnapshotsKeysThroughRds',
      Effect: 'Allow',
      Action: ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt', 'kms:ReEncryptFrom'],
      Resource: sourceKeys,
      Condition: viaRds,
    });
  }
  // With no database to copy from (all in the vault account itself), a statement may be left with nothing to name.
  const empty = (value: unknown) => Array.isArray(value) && value.length === 0;
  const named = statements.filter(({ Action, Resource }) => !empty(Action) && !empty(Resource));
  return { PolicyName: 'SlipwayBackupVault', PolicyDocument: { Version: '2012-10-17', Statement: named } };
}
