/**
 * The backup bucket's policy in the packaged kitchen-sink stack, for orders-db: a database of member account staging
 * (222222222222) exported to S3 (lib/backup/member-export-bucket-policy.ts). RDS writes the export as the export role
 * config names, from another account, so IAM needs both the role's own policy and the bucket's to allow each request
 * (Amazon S3 User Guide, "How Amazon S3 authorizes a request"); simulated with @cloud-copilot/iam-simulate:
 * - the export role, with the policy the StartExportTask API Reference (IamRoleArn) tells the account to give it,
 *   writes, reads, lists and deletes under rds-exports/orders-db/ and nowhere else in the bucket;
 * - another role of that account, the same role name in another account, and the role's erasure of versions are
 *   refused whatever their own policies say.
 */
import { rmSync } from 'node:fs';
import { loadStageConfig } from '../../lib/config/load';
import { type CloudFormationTemplate, packagedStage, readTemplate } from '../support/package';
import { bucketDecision } from './bucket-decisions';
import { TEST_PLACE, templateValues } from './cloudformation';
import type { PolicyDocument } from './iam-requests';

const config = loadStageConfig('kitchen-sink');
const EXPORT_ROLE = config.databases['orders-db']?.exportRoleArn as string;
const MEMBER = '222222222222';

let dir: string;
let owned = false;
let bucketArn: string;
let bucketPolicy: PolicyDocument;

beforeAll(async () => {
  ({ dir, owned } = await packagedStage('kitchen-sink'));
  const template = readTemplate(dir) as CloudFormationTemplate;
  const values = templateValues(template, TEST_PLACE, 'slipway-kitchen-sink');
  bucketArn = values.text({ 'Fn::GetAtt': ['BackupBucket', 'Arn'] });
  bucketPolicy = values.resolve(values.resource('BackupBucketPolicy').Properties?.PolicyDocument) as PolicyDocument;
});

afterAll(() => {
  if (dir && owned) rmSync(dir, { recursive: true, force: true });
});

/** A role of the member account whose own policy grants what the API reference lists, on the whole bucket. */
const roleAllowedByItself = (arn: string) => ({
  arn,
  policies: [
    {
      name: 'rds-export',
      document: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:PutObject*', 's3:GetObject*', 's3:ListBucket', 's3:DeleteObject*', 's3:GetBucketLocation'],
            Resource: [bucketArn, `${bucketArn}/*`],
          },
        ],
      } as PolicyDocument,
    },
  ],
});

/** IAM's decision on a request of the role to the backup bucket (no key) or an object of it, across the two accounts. */
const decide = (role: ReturnType<typeof roleAllowedByItself>, action: string, key?: string, context = {}) =>
  bucketDecision(role, action, { arn: bucketArn, account: TEST_PLACE.account, policy: bucketPolicy }, key, context);

const EXPORTED = 'rds-exports/orders-db/slipway-orders-db-202611220330/orders/public.orders/part-00000.parquet';

describe('the backup bucket, for the export of orders-db from member account staging', () => {
  it('lets the export role write, read, list, delete and locate under rds-exports/orders-db/', async () => {
    const role = roleAllowedByItself(EXPORT_ROLE);
    expect(EXPORT_ROLE).toBe(`arn:aws:iam::${MEMBER}:role/slipway-rds-export`);
    for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:PutObjectTagging']) {
      expect([action, await decide(role, action, EXPORTED)]).toEqual([action, 'Allowed']);
    }
    expect(await decide(role, 's3:ListBucket', undefined, { 's3:prefix': 'rds-exports/orders-db/slipway-' })).toBe(
      'Allowed',
    );
    expect(await decide(role, 's3:GetBucketLocation')).toBe('Allowed');
  });

  it.each([
    ['another database’s exports', 's3:PutObject', 'rds-exports/shop-db/slipway-shop-db-202611220300/x.parquet'],
    ['a volume archive', 's3:GetObject', 'volumes/shop-uploads/bkp-1/archive.tar.gz'],
    ['a dump', 's3:PutObject', 'dumps/shop-db/bkp-2/shop.dump'],
    ['a prefix that only starts like its own', 's3:PutObject', 'rds-exports/orders-db-old/x.parquet'],
  ])('refuses the export role %s', async (_what, action, key) => {
    expect(await decide(roleAllowedByItself(EXPORT_ROLE), action, key)).not.toBe('Allowed');
  });

  it('refuses the export role a listing of another prefix, and the erasure of a version of its own', async () => {
    const role = roleAllowedByItself(EXPORT_ROLE);
    expect(await decide(role, 's3:ListBucket', undefined, { 's3:prefix': 'rds-exports/' })).not.toBe('Allowed');
    expect(await decide(role, 's3:ListBucket', undefined, { 's3:prefix': 'volumes/' })).not.toBe('Allowed');
    expect(await decide(role, 's3:DeleteObjectVersion', EXPORTED)).toBe('ExplicitlyDenied');
  });

  it.each([
    ['another role of the member account', `arn:aws:iam::${MEMBER}:role/slipway-member`],
    ['the same role name in another member account', 'arn:aws:iam::333333333333:role/slipway-rds-export'],
    ['the same role name in an account config does not name', 'arn:aws:iam::444444444444:role/slipway-rds-export'],
  ])('refuses %s, whatever its own policy grants', async (_who, arn) => {
    const role = roleAllowedByItself(arn);
    for (const action of ['s3:PutObject', 's3:GetObject']) {
      expect([action, await decide(role, action, EXPORTED)]).toEqual([action, expect.not.stringMatching(/^Allowed$/)]);
    }
    expect(await decide(role, 's3:GetBucketLocation')).not.toBe('Allowed');
  });
});
