import { loadStageConfig } from '../../../lib/config/load';
import { memberAccountTemplate } from '../../../lib/events/member-account-template';
import { eventRulePatterns } from '../../../lib/events/rule-patterns';
import { MEMBER, memberInputs } from '../../support/member-accounts';
import { ask, denied, kmsIn, targetRole, viaRds } from '../../support/member-role-requests';
import type { AwsPlace } from '../../template/cloudformation';
import { type AwsRequest, loadArnFormats } from '../../template/iam-requests';
import { type Role, refusalOf } from '../../template/iam-simulation';

/**
 * What a member account's template holds for the databases config/kitchen-sink.yml places in it (orders-db:
 * instance orders-staging-db in account staging, eu-west-1, copied to its us-east-1, encrypted with keys of that
 * account): its role's RDS and KMS grants, simulated with @cloud-copilot/iam-simulate (the Service Authorization
 * Reference as data), and the rules forwarding those databases' RDS events.
 */

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read here by its paths
type Json = Record<string, any>;

const STAGING = MEMBER.staging;
const EU = 'eu-west-1';
const US = 'us-east-1';
const config = loadStageConfig('kitchen-sink');
const orders = config.databases['orders-db'] as { kmsKeyArn: string; copyKmsKeyId: string };
const template = memberAccountTemplate(memberInputs('staging')) as Json;
const place: AwsPlace = { partition: 'aws', region: EU, account: STAGING };

const role = (): Role => targetRole(template, config.accounts.staging?.roleArn as string, STAGING);

const rds = (region: string, resource: string, account: string = STAGING) =>
  `arn:aws:rds:${region}:${account}:${resource}`;
const SNAPSHOT = 'snapshot:slipway-orders-db-202611220330';
const VAULT_ROLE = config.accounts.vault?.roleArn as string;

const kms = kmsIn(STAGING);

/** The grant's condition keys as KMS sets them for the vault copy's CreateGrant (KMS Developer Guide, "kms:GrantOperations"). */
function vaultGrant(over: { grantee?: string; operations?: string[] } = {}): Record<string, string | string[]> {
  return {
    'kms:GranteePrincipal': over.grantee ?? VAULT_ROLE,
    'kms:GrantOperations': over.operations ?? ['Decrypt', 'DescribeKey', 'CreateGrant', 'ReEncryptFrom'],
  };
}

/** Every call lib/backup and lib/restore make for orders-db, as its requests to IAM. */
const ALLOWED: AwsRequest[] = [
  // The source's state, and the manual snapshots counted against the quota (no identifier: "*").
  ask('rds:DescribeDBInstances', rds(EU, 'db:orders-staging-db'), EU),
  ask('rds:DescribeDBSnapshots', '*', EU),
  ask('rds:DescribeDBSnapshots', rds(US, SNAPSHOT), US),
  // The snapshot, authorised on the source and on the snapshot it creates with its tags.
  ask('rds:CreateDBSnapshot', rds(EU, 'db:orders-staging-db'), EU),
  ask('rds:CreateDBSnapshot', rds(EU, SNAPSHOT), EU),
  ask('rds:AddTagsToResource', rds(EU, SNAPSHOT), EU),
  // The copy, made in us-east-1 from the source's ARN, encrypted with copyKmsKeyId.
  ask('rds:CopyDBSnapshot', rds(EU, SNAPSHOT), US),
  ask('rds:CopyDBSnapshot', rds(US, SNAPSHOT), US),
  ask('rds:AddTagsToResource', rds(US, SNAPSHOT), US),
  kms('kms:CreateGrant', orders.copyKmsKeyId, US),
  kms('kms:DescribeKey', orders.copyKmsKeyId, US),
  // Retention, in both regions.
  ask('rds:DeleteDBSnapshot', rds(EU, SNAPSHOT), EU),
  ask('rds:DeleteDBSnapshot', rds(US, SNAPSHOT), US),
  // A restore of the snapshot into <source>-restore-…, with the source's groups, tagged on create, with its key.
  ask('rds:RestoreDBInstanceFromDBSnapshot', rds(EU, 'db:orders-staging-db-restore-copy'), EU),
  ask('rds:RestoreDBInstanceFromDBSnapshot', rds(EU, SNAPSHOT), EU),
  ask('rds:RestoreDBInstanceFromDBSnapshot', rds(EU, 'subgrp:orders-subnets'), EU),
  ask('rds:RestoreDBInstanceFromDBSnapshot', rds(EU, 'og:orders-options'), EU),
  ask('rds:RestoreDBInstanceFromDBSnapshot', rds(EU, 'pg:orders-params'), EU),
  ask('rds:AddTagsToResource', rds(EU, 'db:orders-staging-db-restore-copy'), EU),
  ask('rds:RestoreDBInstanceToPointInTime', rds(EU, 'db:orders-staging-db'), EU),
  ask('rds:RestoreDBInstanceToPointInTime', rds(EU, 'db:orders-staging-db-restore-copy'), EU),
  kms('kms:CreateGrant', orders.kmsKeyArn, EU, viaRds(EU)),
  kms('kms:DescribeKey', orders.kmsKeyArn, EU, viaRds(EU)),
  // A drill into its scratch instance, deleted after.
  ask('rds:RestoreDBInstanceFromDBSnapshot', rds(EU, 'db:slipway-drill-orders-db-202611220830'), EU),
  ask('rds:DeleteDBInstance', rds(EU, 'db:slipway-drill-orders-db-202611220830'), EU),
  // The vault copy (lib/backup/vault-copies.ts): the snapshot shared with the vault account, its key described and
  // granted to the vault's role, each called directly, not through RDS.
  ask('rds:ModifyDBSnapshotAttribute', rds(EU, SNAPSHOT), EU),
  kms('kms:DescribeKey', orders.kmsKeyArn, EU),
  kms('kms:CreateGrant', orders.kmsKeyArn, EU, vaultGrant()),
];

beforeAll(async () => {
  await loadArnFormats();
});

describe('the member role of an account holding a database', () => {
  it('lets every call of its snapshots, copies, retention, restores and drills through', async () => {
    // Given orders-db's requests, as its backups and restores make them through the role
    const refused: string[] = [];
    for (const request of ALLOWED) {
      // When IAM evaluates each against the role's policy
      const why = await refusalOf(request, role(), place);
      if (why) refused.push(`${request.action} on ${request.resource}: ${why}`);
    }
    // Then none is refused
    expect(refused).toEqual([]);
  });

  it('grants no RDS or KMS action those calls do not need', () => {
    const granted = role().policies.flatMap(({ document }) =>
      (document.Statement as Array<{ Action: string | string[] }>).flatMap((statement) => statement.Action),
    );
    const needed = new Set([
      ...ALLOWED.map(({ action }) => action),
      // The Aurora and Multi-AZ cluster calls are the same statements' (no cluster is placed in the account).
      'rds:DescribeDBClusters',
      'rds:DescribeDBClusterSnapshots',
      'rds:CreateDBClusterSnapshot',
      'rds:CopyDBClusterSnapshot',
      'rds:DeleteDBClusterSnapshot',
      'rds:RestoreDBClusterFromSnapshot',
      'rds:RestoreDBClusterToPointInTime',
      'rds:CreateDBInstance',
      'rds:DeleteDBCluster',
      // orders-db's export to S3: test/unit/events/member-account-exports.test.ts.
      'rds:StartExportTask',
      'rds:DescribeExportTasks',
    ]);
    expect(new Set(granted.filter((action) => /^(rds|kms):/.test(action)))).toEqual(needed);
  });

  it.each([
    ['in another region', (request: AwsRequest) => swap(request, /\b(eu-west-1|us-east-1)\b/g, 'ap-south-1')],
    ['in another member account', (request: AwsRequest) => swap(request, new RegExp(STAGING, 'g'), MEMBER.production)],
    [
      "in the control plane's account",
      (request: AwsRequest) => swap(request, new RegExp(STAGING, 'g'), '111111111111'),
    ],
  ])('refuses the same calls %s', async (_where, moved) => {
    const allowed: string[] = [];
    for (const request of ALLOWED) {
      const variant = moved(request);
      // A call naming no resource is held to the regions only.
      if (
        variant.resource === request.resource &&
        variant.context['aws:RequestedRegion'] === request.context['aws:RequestedRegion']
      )
        continue;
      const why = await refusalOf(variant, role(), place);
      if (!denied(why)) allowed.push(`${variant.action} on ${variant.resource}: ${why ?? 'Allowed'}`);
    }
    expect(allowed).toEqual([]);
  });

  it.each([
    [
      'a snapshot of another database',
      ask('rds:DeleteDBSnapshot', rds(EU, 'snapshot:slipway-shop-db-202611220300'), EU),
    ],
    ['a snapshot nobody named for Slipway', ask('rds:DeleteDBSnapshot', rds(EU, 'snapshot:nightly-by-hand'), EU)],
    ['another instance', ask('rds:CreateDBSnapshot', rds(EU, 'db:billing-db'), EU)],
    ['the source itself', ask('rds:DeleteDBInstance', rds(EU, 'db:orders-staging-db'), EU)],
    [
      'a restore over a name outside the rule',
      ask('rds:RestoreDBInstanceFromDBSnapshot', rds(EU, 'db:orders-prod'), EU),
    ],
    ['a change to the source', ask('rds:ModifyDBInstance', rds(EU, 'db:orders-staging-db'), EU)],
    ['a key used other than through RDS', kms('kms:CreateGrant', orders.kmsKeyArn, EU)],
    [
      'a share of another database’s snapshot',
      ask('rds:ModifyDBSnapshotAttribute', rds(EU, 'snapshot:slipway-shop-db-202611220300'), EU),
    ],
    [
      'a share of a snapshot nobody named for Slipway',
      ask('rds:ModifyDBSnapshotAttribute', rds(EU, 'snapshot:nightly-by-hand'), EU),
    ],
    [
      'a grant of its key to another grantee',
      kms('kms:CreateGrant', orders.kmsKeyArn, EU, vaultGrant({ grantee: `arn:aws:iam::${MEMBER.production}:root` })),
    ],
    [
      'a grant of its key with an operation a copy does not take',
      kms('kms:CreateGrant', orders.kmsKeyArn, EU, vaultGrant({ operations: ['Decrypt', 'Encrypt'] })),
    ],
    [
      'a grant of another key to the vault’s role',
      kms(
        'kms:CreateGrant',
        `arn:aws:kms:eu-west-1:${STAGING}:key/0a1b2c3d-0000-4000-8000-000000000000`,
        EU,
        vaultGrant(),
      ),
    ],

    [
      'another key',
      ask(
        'kms:CreateGrant',
        `arn:aws:kms:eu-west-1:${STAGING}:key/0a1b2c3d-0000-4000-8000-000000000000`,
        EU,
        viaRds(EU),
      ),
    ],
  ])('refuses %s', async (_what, request) => {
    expect(denied(await refusalOf(request, role(), place))).toBe(true);
  });
});

describe('the rules of an account holding a database', () => {
  const pattern = (id: string) => template.Resources[id]?.Properties.EventPattern;
  /** The control plane's own rdsEvent rule's pattern (serverless/functions/events.yml). */
  const controlPlanePattern = () =>
    eventRulePatterns({ config, stage: 'kitchen-sink', serviceArns: [], repositoryNames: [], repositoryArns: [] }).find(
      ({ rule }) => rule === 'rdsEvent',
    )?.pattern;

  it('forward, in its region, the RDS events of its snapshots, restore targets and drills, as the control plane’s rule hears them', () => {
    expect(pattern('RdsEventForwardingEuWest1')).toEqual({
      ...controlPlanePattern(),
      detail: {
        SourceIdentifier: [
          { prefix: 'slipway-orders-db-' },
          { prefix: 'orders-staging-db-restore-' },
          { prefix: 'slipway-drill-' },
        ],
      },
    });
    expect(template.Resources.RdsEventForwardingEuWest1.Condition).toBe('InEuWest1');
  });

  it('forward, in the copy’s region, the events of its snapshots alone', () => {
    expect(pattern('RdsEventForwardingUsEast1').detail).toEqual({
      SourceIdentifier: [{ prefix: 'slipway-orders-db-' }],
    });
  });

  it('are made in no account that holds none', () => {
    const production = memberAccountTemplate(memberInputs('production')) as Json;
    expect(Object.keys(production.Resources).filter((id) => id.startsWith('RdsEvent'))).toEqual([]);
  });
});

/** The request with `from` replaced in its resource and its condition keys' values. */
function swap(request: AwsRequest, from: RegExp, to: string): AwsRequest {
  return {
    ...request,
    resource: request.resource.replace(from, to),
    context: JSON.parse(JSON.stringify(request.context).replace(from, to)),
  };
}
