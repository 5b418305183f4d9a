import { loadStageConfig } from '../../../lib/config/load';
import { vaultKeyIn, vaultKeyList } from '../../../lib/config/vault-keys';
import { memberAccountTemplate } from '../../../lib/events/member-account-template';
import { MEMBER, memberInputs } from '../../support/member-accounts';
import type { AwsPlace } from '../../template/cloudformation';
import { type AwsRequest, loadArnFormats, type PolicyDocument } from '../../template/iam-requests';
import { type Role, refusalOf } from '../../template/iam-simulation';

/**
 * Restoring a vault copy into another account (lib/restore/vault-restore.ts), as IAM decides it on the member roles
 * config/kitchen-sink.yml generates (@cloud-copilot/iam-simulate, the Service Authorization Reference as data): the
 * vault's role (555555555555) shares Slipway's copies and grants its key to the other accounts' roles; production's
 * role (333333333333) restores the shared copies into new databases named by the restore rule, using the vault's key
 * through RDS. Each call is allowed, and the same call on other accounts' or other resources refused.
 */

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read here by its paths
type Json = Record<string, any>;

const config = loadStageConfig('kitchen-sink');
const US = 'us-east-1';
const VAULT = String(config.accounts.vault?.roleArn).split(':')[4] as string;
const PRODUCTION_ROLE = config.accounts.production?.roleArn as string;
const STAGING_ROLE = config.accounts.staging?.roleArn as string;
const vaultKey = vaultKeyIn(vaultKeyList(config.backups.vaultKmsKey), US) as string;
// The control plane's account (the template's ControlPlaneAccountId) and its function roles, by the plugin's names.
const CONTROL_PLANE = '111111111111';
const controlPlaneRole = (fn: string) =>
  `arn:aws:iam::${CONTROL_PLANE}:role/slipway-kitchen-sink-${fn}-${US}-lambdaRole`;

function roleOf(account: string, id: string): Role {
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [only] = entries;
    if (entries.length === 1 && only?.[0] === 'Fn::Sub') {
      const names: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::AccountId': id,
        ControlPlaneAccountId: CONTROL_PLANE,
      };
      return (only[1] as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => names[name] ?? `<${name}>`);
    }
    return Object.fromEntries(entries.map(([key, inner]) => [key, resolve(inner)]));
  };
  const template = memberAccountTemplate(memberInputs(account)) as Json;
  return {
    arn: config.accounts[account]?.roleArn as string,
    policies: (resolve(template.Resources.TargetRole.Properties.Policies) as Json[]).map((policy) => ({
      name: policy.PolicyName as string,
      document: policy.PolicyDocument as PolicyDocument,
    })),
  };
}

const rds = (account: string, resource: string, region = US) => `arn:aws:rds:${region}:${account}:${resource}`;
const allows = (principal: string, action: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: action, Resource: '*' }],
});
const ask = (
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
  resourcePolicy?: PolicyDocument,
): AwsRequest => ({
  action,
  resource,
  what: resource,
  context: { 'aws:RequestedRegion': resource.split(':')[3] || US, ...context },
  ...(resourcePolicy ? { resourcePolicy } : {}),
});
const denied = (why: string | undefined) => why !== undefined && /^(Implicitly|Explicitly)Denied/.test(why);

async function decisions(role: Role, place: AwsPlace, requests: AwsRequest[]) {
  const out: string[] = [];
  for (const request of requests) {
    const why = await refusalOf(request, role, place);
    out.push(`${request.action} on ${request.resource}: ${why ?? 'Allowed'}`);
  }
  return out;
}

beforeAll(async () => {
  await loadArnFormats();
});

describe('the vault role’s share of its copies for a restore into another account', () => {
  const role = () => roleOf('vault', VAULT);
  const place: AwsPlace = { partition: 'aws', region: US, account: VAULT };
  const tagged = { 'aws:ResourceTag/slipway:vault-copy': 'true' };
  const vaultOwns = allows(`arn:aws:iam::${VAULT}:root`, 'kms:*');
  const grant = (grantee: string, operations = ['Decrypt', 'DescribeKey', 'CreateGrant', 'ReEncryptFrom']) => ({
    'kms:GranteePrincipal': grantee,
    'kms:GrantOperations': operations,
  });

  it('shares and unshares Slipway’s copies, grants the vault’s key to the other accounts’ roles and to the control plane’s restoring role, and restores a cluster’s copy in the vault', async () => {
    const requests = [
      ask('rds:ModifyDBSnapshotAttribute', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), tagged),
      ask(
        'rds:ModifyDBClusterSnapshotAttribute',
        rds(VAULT, 'cluster-snapshot:slipway-reports-db-202611220300'),
        tagged,
      ),
      ask('kms:CreateGrant', vaultKey, grant(PRODUCTION_ROLE), vaultOwns),
      ask('kms:CreateGrant', vaultKey, grant(STAGING_ROLE, ['Decrypt', 'DescribeKey']), vaultOwns),
      ask('kms:CreateGrant', vaultKey, grant(controlPlaneRole('createRestore')), vaultOwns),
      ask('rds:DescribeDBClusterSnapshots', '*'),
      ask('rds:DescribeDBClusters', '*'),
      ask('rds:RestoreDBClusterFromSnapshot', rds(VAULT, 'cluster-snapshot:slipway-reports-db-202611220300')),
      ask('rds:RestoreDBClusterFromSnapshot', rds(VAULT, 'cluster:reports-aurora-restore-1')),
      ask('rds:CreateDBInstance', rds(VAULT, 'db:reports-aurora-restore-1-1')),
      ask('rds:CreateDBInstance', rds(VAULT, 'cluster:reports-aurora-restore-1')),
      ask('rds:AddTagsToResource', rds(VAULT, 'cluster:reports-aurora-restore-1')),
    ];
    expect((await decisions(role(), place, requests)).filter((line) => !line.endsWith('Allowed'))).toEqual([]);
  });

  it('refuses the share of what is not Slipway’s copy, and the key to another grantee or with other operations', async () => {
    const requests = [
      ask('rds:ModifyDBSnapshotAttribute', rds(VAULT, 'snapshot:slipway-shop-db-202611220300')),
      ask('rds:ModifyDBSnapshotAttribute', rds(VAULT, 'snapshot:by-hand'), tagged),
      ask('rds:ModifyDBSnapshotAttribute', rds(MEMBER.staging, 'snapshot:slipway-shop-db-202611220300'), tagged),
      ask('kms:CreateGrant', vaultKey, grant('arn:aws:iam::999999999999:role/anyone'), vaultOwns),
      ask('kms:CreateGrant', vaultKey, grant(`arn:aws:iam::${MEMBER.production}:root`), vaultOwns),
      ask('kms:CreateGrant', vaultKey, grant(controlPlaneRole('restoreDrill')), vaultOwns),
      ask('kms:CreateGrant', vaultKey, grant(`arn:aws:iam::${CONTROL_PLANE}:root`), vaultOwns),
      ask('kms:CreateGrant', vaultKey, grant(PRODUCTION_ROLE, ['Decrypt', 'Encrypt']), vaultOwns),
      ask('rds:RestoreDBClusterFromSnapshot', rds(VAULT, 'cluster:production-reports')),
    ];
    expect((await decisions(role(), place, requests)).filter((line) => !denied(line.split(': ').at(-1)))).toEqual([]);
  });
});

describe('a member role’s restore of the vault’s shared copies', () => {
  const PRODUCTION = MEMBER.production;
  const role = () => roleOf('production', PRODUCTION);
  const place: AwsPlace = { partition: 'aws', region: US, account: PRODUCTION };
  // RDS snapshots take no resource policy: the share (ModifyDBSnapshotAttribute restore) stands as one here.
  const shared = allows(`arn:aws:iam::${PRODUCTION}:root`, 'rds:*');
  const viaRds = { 'kms:ViaService': `rds.${US}.amazonaws.com` };
  // The grant the vault's role made to production's role, standing as a key policy.
  const granted = allows(PRODUCTION_ROLE, 'kms:*');
  const allowed = [
    ask('rds:DescribeDBInstances', '*'),
    ask('rds:DescribeDBClusters', '*'),
    ask('rds:RestoreDBInstanceFromDBSnapshot', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), {}, shared),
    ask('rds:RestoreDBInstanceFromDBSnapshot', rds(PRODUCTION, 'db:shop-prod-db-restore-1')),
    ask('rds:RestoreDBInstanceFromDBSnapshot', rds(PRODUCTION, 'subgrp:default')),
    ask('rds:AddTagsToResource', rds(PRODUCTION, 'db:shop-prod-db-restore-1')),
    ask('rds:RestoreDBClusterFromSnapshot', rds(VAULT, 'cluster-snapshot:slipway-reports-db-202611220300'), {}, shared),
    ask('rds:RestoreDBClusterFromSnapshot', rds(PRODUCTION, 'cluster:reports-aurora-restore-1')),
    ask('rds:CreateDBInstance', rds(PRODUCTION, 'db:reports-aurora-restore-1-1')),
    ask('rds:CreateDBInstance', rds(PRODUCTION, 'cluster:reports-aurora-restore-1')),
    ask(
      'rds:RestoreDBInstanceFromDBSnapshot',
      rds(VAULT, 'snapshot:slipway-orders-db-202611220330', 'eu-west-1'),
      {},
      shared,
    ),
    ask('kms:CreateGrant', vaultKey, viaRds, granted),
    ask('kms:DescribeKey', vaultKey, viaRds, granted),
  ];

  it('lets every call of the restore through', async () => {
    expect((await decisions(role(), place, allowed)).filter((line) => !line.endsWith('Allowed'))).toEqual([]);
  });

  it('refuses the same calls on another account’s snapshots, on names outside the rule, in another region, and the key outside RDS', async () => {
    const refused = [
      ask(
        'rds:RestoreDBInstanceFromDBSnapshot',
        rds(MEMBER.staging, 'snapshot:slipway-shop-db-202611220300'),
        {},
        shared,
      ),
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(VAULT, 'snapshot:by-hand'), {}, shared),
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(PRODUCTION, 'db:production-db')),
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(PRODUCTION, 'db:shop-prod-db-restore-1', 'ap-south-1')),
      ask('rds:RestoreDBClusterFromSnapshot', rds(PRODUCTION, 'cluster:reports-aurora')),
      ask('rds:DescribeDBInstances', '*', { 'aws:RequestedRegion': 'ap-south-1' }),
      ask('rds:ModifyDBSnapshotAttribute', rds(VAULT, 'snapshot:slipway-shop-db-202611220300'), {}, shared),
      ask('kms:CreateGrant', vaultKey, {}, granted),
      ask('kms:Decrypt', vaultKey, viaRds, granted),
    ];
    expect((await decisions(role(), place, refused)).filter((line) => !denied(line.split(': ').at(-1)))).toEqual([]);
  });
});
