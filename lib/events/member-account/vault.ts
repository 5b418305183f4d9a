import { restoreTargetPrefix } from '../../backup/identifiers';
import { VAULT_COPY_TAG } from '../../backup/vault';
import type { SlipwayConfig } from '../../config/schema';
import { sub } from './cloudformation';

/**
 * What the vault account's role (backups.vaultAccount) holds, as a policy of its own: it copies the snapshots the
 * control plane shares with it, tagged as vault copies; reads its snapshots and instances; deletes only the
 * snapshots it copied (named slipway-*, tagged slipway:vault-copy); restores them into new instances named by the
 * restore rule; and uses the vault's key, and the sources' keys, only through RDS. Nothing of it deletes or
 * changes what the source account holds. RDS's events about the copies are not forwarded: the reconciler asks the
 * vault through this role (lib/backup/vault-copies.ts).
 */

type Json = Record<string, unknown>;

const rdsArn = (region: string, account: string, resource: string) =>
  sub(`arn:\${AWS::Partition}:rds:${region}:${account}:${resource}`);

/** The vault policy of `account`'s role; undefined for any other account. */
export function vaultPolicy(config: SlipwayConfig, account: string, controlPlaneRegion: string): Json | undefined {
  if (config.backups.vaultAccount !== account) return undefined;
  const databases = Object.values(config.databases);
  // Copies are made in their snapshot's region, the control plane's while databases live there.
  const regions = [controlPlaneRegion];
  const kinds = [
    ...(databases.some((db) => db.rdsInstance) ? ['snapshot'] : []),
    ...(databases.some((db) => db.rdsCluster) ? ['cluster-snapshot'] : []),
  ];
  const vaultAccount = `\${AWS::AccountId}`;
  const controlPlaneAccount = `\${ControlPlaneAccountId}`;
  const own = (resource: string) => regions.map((region) => rdsArn(region, vaultAccount, resource));
  const copies = kinds.flatMap((kind) => own(`${kind}:slipway-*`));
  const sources = kinds.flatMap((kind) =>
    regions.map((region) => rdsArn(region, controlPlaneAccount, `${kind}:slipway-*`)),
  );
  const copyActions = [
    ...(kinds.includes('snapshot') ? ['rds:CopyDBSnapshot'] : []),
    ...(kinds.includes('cluster-snapshot') ? ['rds:CopyDBClusterSnapshot'] : []),
  ];
  const deleteActions = [
    ...(kinds.includes('snapshot') ? ['rds:DeleteDBSnapshot'] : []),
    ...(kinds.includes('cluster-snapshot') ? ['rds:DeleteDBClusterSnapshot'] : []),
  ];
  const instanceSources = databases.flatMap((db) => (db.rdsInstance ? [db.rdsInstance] : []));
  const targets = instanceSources.flatMap((source) => own(`db:${restoreTargetPrefix(source)}*`));
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
      Sid: 'TagVaultCopiesAndRestores',
      Effect: 'Allow',
      Action: ['rds:AddTagsToResource'],
      Resource: [...copies, ...targets],
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
  if (targets.length > 0) {
    statements.push({
      Sid: 'RestoreVaultCopiesIntoNewInstances',
      Effect: 'Allow',
      Action: ['rds:RestoreDBInstanceFromDBSnapshot'],
      Resource: [...own('snapshot:slipway-*'), ...targets, ...own('og:*'), ...own('pg:*'), ...own('subgrp:*')],
    });
  }
  if (config.backups.vaultKmsKey) {
    // RDS encrypts the copy, and a restore of it, with the vault's key, creating grants on it as the caller.
    statements.push({
      Sid: 'UseTheVaultKeyThroughRds',
      Effect: 'Allow',
      Action: ['kms:CreateGrant', 'kms:DescribeKey'],
      Resource: [config.backups.vaultKmsKey],
      Condition: viaRds,
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
  return { PolicyName: 'SlipwayBackupVault', PolicyDocument: { Version: '2012-10-17', Statement: statements } };
}
