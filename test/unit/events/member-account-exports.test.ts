import { loadStageConfig } from '../../../lib/config/load';
import type { SlipwayConfig } from '../../../lib/config/schema';
import { exportStatements } from '../../../lib/events/member-account/exports';
import { memberAccountTemplate } from '../../../lib/events/member-account-template';
import { MEMBER, memberInputs } from '../../support/member-accounts';
import { ask, denied, kmsIn, targetRole, viaRds } from '../../support/member-role-requests';
import type { AwsPlace } from '../../template/cloudformation';
import { type AwsRequest, loadArnFormats } from '../../template/iam-requests';
import { type Role, refusalOf } from '../../template/iam-simulation';

/**
 * What a member account's role may do to export its databases' snapshots (lib/events/member-account/exports.ts):
 * config/kitchen-sink.yml's orders-db, in account staging's eu-west-1 and copied to its us-east-1, the control
 * plane's (and its backup bucket's) region, so the copy is exported there. Simulated with @cloud-copilot/iam-simulate
 * (the Service Authorization Reference as data): every call of the export allowed, the same calls elsewhere refused.
 */

const STAGING = MEMBER.staging;
const US = 'us-east-1';
const EU = 'eu-west-1';
const config = loadStageConfig('kitchen-sink');
const orders = config.databases['orders-db'] as { exportRoleArn: string; exportKmsKeyId: string };
const place: AwsPlace = { partition: 'aws', region: US, account: STAGING };

const role = (): Role =>
  targetRole(memberAccountTemplate(memberInputs('staging')), config.accounts.staging?.roleArn as string, STAGING);

const COPY = `arn:aws:rds:${US}:${STAGING}:snapshot:slipway-orders-db-202611220330`;
const kms = kmsIn(STAGING);
const toExport = { 'iam:PassedToService': 'export.rds.amazonaws.com' };

/** Every call lib/backup/snapshot-follow-ups.ts and snapshot-settlement.ts make for orders-db's export, as IAM sees it. */
const EXPORT_CALLS: AwsRequest[] = [
  // The account's running exports (its limit of five), and the export's own task, asked by identifier.
  ask('rds:DescribeExportTasks', '*', US),
  // The export of the copy in us-east-1, handing RDS the export role, encrypted with exportKmsKeyId through RDS.
  ask('rds:StartExportTask', COPY, US),
  ask('iam:PassRole', orders.exportRoleArn, US, toExport),
  kms('kms:CreateGrant', orders.exportKmsKeyId, US, viaRds(US)),
  kms('kms:DescribeKey', orders.exportKmsKeyId, US, viaRds(US)),
];

beforeAll(async () => {
  await loadArnFormats();
});

describe('the member role of an account whose database is exported to S3', () => {
  it('lets every call of the export and its follow-up through', async () => {
    const refused: string[] = [];
    for (const request of EXPORT_CALLS) {
      const why = await refusalOf(request, role(), place);
      if (why) refused.push(`${request.action} on ${request.resource}: ${why}`);
    }
    expect(refused).toEqual([]);
  });

  it.each([
    [
      'the database’s own snapshot, in eu-west-1, away from the bucket',
      ask('rds:StartExportTask', COPY.replace(US, EU), EU),
    ],
    [
      'a snapshot of another database',
      ask('rds:StartExportTask', `arn:aws:rds:${US}:${STAGING}:snapshot:slipway-shop-db-202611220300`, US),
    ],
    [
      'a snapshot nobody named for Slipway',
      ask('rds:StartExportTask', `arn:aws:rds:${US}:${STAGING}:snapshot:manual`, US),
    ],
    ['the export tasks of another region', ask('rds:DescribeExportTasks', '*', 'ap-south-1')],
    ['another role of the account', ask('iam:PassRole', `arn:aws:iam::${STAGING}:role/admin`, US, toExport)],
    [
      'the export role to another service',
      ask('iam:PassRole', orders.exportRoleArn, US, { 'iam:PassedToService': 'ec2.amazonaws.com' }),
    ],
    [
      'another key',
      kms('kms:CreateGrant', `arn:aws:kms:${US}:${STAGING}:key/0a1b2c3d-0000-4000-8000-000000000000`, US, viaRds(US)),
    ],
    ['the export key other than through RDS', kms('kms:CreateGrant', orders.exportKmsKeyId, US)],
    ['the export key through RDS of another region', kms('kms:DescribeKey', orders.exportKmsKeyId, US, viaRds(EU))],
  ])('refuses %s', async (_what, request) => {
    expect(denied(await refusalOf(request, role(), place))).toBe(true);
  });

  it.each([
    ['in another member account', MEMBER.production],
    ["in the control plane's account", '111111111111'],
  ])('refuses the same calls naming resources %s', async (_where, account) => {
    const allowed: string[] = [];
    for (const request of EXPORT_CALLS.filter(({ resource }) => resource !== '*')) {
      const moved = JSON.parse(JSON.stringify(request).replaceAll(STAGING, account)) as AwsRequest;
      const why = await refusalOf(moved, role(), place);
      if (!denied(why)) allowed.push(`${moved.action} on ${moved.resource}: ${why ?? 'Allowed'}`);
    }
    expect(allowed).toEqual([]);
  });
});

describe('the export statements', () => {
  const withOrders = (over: Partial<SlipwayConfig['databases'][string]>) => {
    const changed = structuredClone(config);
    Object.assign(changed.databases['orders-db'] as object, over);
    return changed;
  };

  it('are none for an account whose databases are not exported, nor for the vault', () => {
    expect(exportStatements(withOrders({ exportToS3: false }), 'staging', US)).toEqual([]);
    expect(exportStatements(config, 'production', US)).toEqual([]);
    expect(exportStatements(config, 'vault', US)).toEqual([]);
  });

  it('are none when neither the snapshot nor its copy is in the bucket’s region: RDS is never asked', () => {
    expect(exportStatements(withOrders({ copyToRegion: 'eu-central-1' }), 'staging', US)).toEqual([]);
  });

  it('grant the database’s own snapshots when it is in the bucket’s region', () => {
    const [start] = exportStatements(withOrders({ region: US, copyToRegion: undefined }), 'staging', US);
    expect(start).toEqual({
      Sid: 'ExportSnapshots',
      Effect: 'Allow',
      Action: ['rds:StartExportTask'],
      Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:rds:${US}:\${AWS::AccountId}:snapshot:slipway-orders-db-*` }],
    });
  });
});
