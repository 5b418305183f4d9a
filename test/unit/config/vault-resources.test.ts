import { createRequire } from 'node:module';
import { configSchema, type SlipwayConfig } from '../../../lib/config/schema';

const require = createRequire(import.meta.url);
const { vaultResources, vaultHomeRestoreResources } = require('../../../serverless/config.cjs') as {
  vaultHomeRestoreResources: (
    config: SlipwayConfig,
    restoreTargetPrefix: (identifier: string) => string,
  ) => Record<string, unknown[]>;
  vaultResources: (config: SlipwayConfig) => {
    vaultSharedSnapshotArns: unknown[];
    vaultSourceKeyArns: string[];
    vaultRoleArns: string[];
    vaultExternalIdSecretArns: unknown[];
  };
};

/**
 * What packaging gives the shareSnapshotsWithVault, grantVaultTheSourceKeys, describeVaultSourceKeys, assumeVaultRole
 * and readVaultExternalId statements.
 */

const VAULT_ROLE = 'arn:aws:iam::444444444444:role/slipway-vault';
const SHOP_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1f2e3d4c-5b6a-4789-8123-456789abcdef';
const VAULT_KEY = 'arn:aws:kms:us-east-1:444444444444:key/7c6b5a49-3827-4165-9f8e-7d6c5b4a3928';
const EU_VAULT_KEY = 'arn:aws:kms:eu-west-1:444444444444:key/3a9e8d7c-6b5a-4f49-8382-7160f5e4d3c2';

const configWith = (backups: Record<string, unknown>) =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: { vault: { roleArn: VAULT_ROLE, externalIdSecret: 'slipway/vault-external-id' } },
    backups,
    databases: {
      'shop-db': { rdsInstance: 'shop-prod', kmsKeyArn: SHOP_KEY },
      'reports-db': { rdsCluster: 'reports-aurora' },
    },
  });

describe('vaultResources', () => {
  it('given no vault, then a snapshot that cannot exist to share, and no key: packaging leaves the key statements out', () => {
    expect(vaultResources(configWith({}))).toEqual({
      vaultSharedSnapshotArns: ['arn:aws:rds:none:000000000000:snapshot:slipway-none'],
      vaultSourceKeyArns: [],
      vaultRoleArns: [],
      vaultExternalIdSecretArns: [],
    });
  });

  it('given a vault, then Slipway’s snapshots of each database, the sources’ keys, and the vault’s role alone', () => {
    expect(vaultResources(configWith({ vaultAccount: 'vault', vaultKmsKey: VAULT_KEY }))).toEqual({
      vaultSharedSnapshotArns: [
        { 'Fn::Sub': `arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:snapshot:slipway-shop-db-*` },
        {
          'Fn::Sub': `arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:cluster-snapshot:slipway-reports-db-*`,
        },
      ],
      vaultSourceKeyArns: [SHOP_KEY],
      vaultRoleArns: [VAULT_ROLE],
      vaultExternalIdSecretArns: [
        {
          'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:slipway/vault-external-id-??????`,
        },
      ],
    });
  });
});

describe('vaultHomeRestoreResources', () => {
  const prefix = (identifier: string) => `${identifier}-restore-`;
  const sub = (text: string) => ({ 'Fn::Sub': text });

  it('given no vault, then nothing: packaging leaves createRestore’s vault restore statements out', () => {
    expect(Object.values(vaultHomeRestoreResources(configWith({}), prefix))).toEqual([[], [], [], [], []]);
  });

  it('given a vault, then the vault’s copies by ARN in its account, the targets by the restore rule here, and the vault’s key through RDS', () => {
    // Given a vault account holding copies of shop-db (instance) and reports-db (cluster), and a vault key
    const config = configWith({ vaultAccount: 'vault', vaultKmsKey: VAULT_KEY });

    // When packaged
    const resources = vaultHomeRestoreResources(config, prefix);

    // Then the copies are the vault's (444444444444), the targets and groups this account's, in the copies' region
    const here = (resource: string) => sub(`arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:${resource}`);
    expect(resources).toEqual({
      vaultHomeRestoreCopyArns: [
        sub(`arn:\${AWS::Partition}:rds:\${AWS::Region}:444444444444:snapshot:slipway-shop-db-*`),
        sub(`arn:\${AWS::Partition}:rds:\${AWS::Region}:444444444444:cluster-snapshot:slipway-reports-db-*`),
      ],
      vaultHomeRestoreTargetArns: [
        here('db:shop-prod-restore-*'),
        here('cluster:reports-aurora-restore-*'),
        here('db:reports-aurora-restore-*'),
      ],
      vaultHomeRestoreGroupArns: ['subgrp', 'og', 'pg', 'cluster-pg'].map((type) => here(`${type}:*`)),
      vaultHomeRestoreKeyArns: [VAULT_KEY],
      vaultHomeRestoreKmsViaServices: [sub(`rds.\${AWS::Region}.amazonaws.com`)],
    });
  });

  it('given a database in a member account’s region and one in the vault itself, then the first’s copy there, by plain region, and none of the second', () => {
    // Given orders-db in staging's eu-west-1, and vault-db in the vault account (which gets no vault copy)
    const config = configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      accounts: { vault: { roleArn: VAULT_ROLE }, staging: { roleArn: 'arn:aws:iam::222222222222:role/member' } },
      backups: { vaultAccount: 'vault', vaultKmsKey: [EU_VAULT_KEY] },
      databases: {
        'orders-db': { rdsInstance: 'orders-db', account: 'staging', region: 'eu-west-1' },
        'vault-db': { rdsInstance: 'vault-db', account: 'vault', region: 'eu-west-1' },
      },
    });

    // When packaged
    const resources = vaultHomeRestoreResources(config, prefix);

    // Then the copy of orders-db alone, restored into this account's eu-west-1, the key used through RDS there
    expect(resources.vaultHomeRestoreCopyArns).toEqual([
      sub(`arn:\${AWS::Partition}:rds:eu-west-1:444444444444:snapshot:slipway-orders-db-*`),
    ]);
    expect(resources.vaultHomeRestoreTargetArns).toEqual([
      sub(`arn:\${AWS::Partition}:rds:eu-west-1:\${AWS::AccountId}:db:orders-db-restore-*`),
    ]);
    expect(resources.vaultHomeRestoreKeyArns).toEqual([EU_VAULT_KEY]);
    expect(resources.vaultHomeRestoreKmsViaServices).toEqual(['rds.eu-west-1.amazonaws.com']);
  });
});
