import { memberExportBucketStatements } from '../../../lib/backup/member-export-bucket-policy';
import { configSchema } from '../../../lib/config/schema';

/**
 * The backup bucket policy's statements for member accounts' exports (lib/backup/member-export-bucket-policy.ts):
 * one pair per exported database of a member account, each on its own prefix, none for the control plane's own
 * databases, whose export roles are its own account's. How IAM decides on them is test/template/member-exports.test.ts.
 */

const exported = (account: string | undefined, id: string) => ({
  rdsInstance: 'db',
  ...(account ? { account } : {}),
  exportToS3: true,
  exportRoleArn: `arn:aws:iam::${id}:role/rds-export`,
  exportKmsKeyId: `arn:aws:kms:us-east-1:${id}:key/3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b`,
});
const configWith = (databases: Record<string, unknown>) =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: {
      staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member' },
      production: { roleArn: 'arn:aws:iam::333333333333:role/slipway-member' },
    },
    databases,
  });

describe('the backup bucket policy’s statements for member accounts’ exports', () => {
  it('are none when only the control plane’s own databases are exported, or a member’s is not', () => {
    const config = configWith({
      'shop-db': exported(undefined, '123456789012'),
      'orders-db': { ...exported('staging', '222222222222'), exportToS3: false },
    });
    expect(memberExportBucketStatements(config)).toEqual([]);
  });

  it('admit each member database’s export role on its own prefix, and every one to locate the bucket', () => {
    const config = configWith({
      'orders-db': exported('staging', '222222222222'),
      'billing-db': exported('production', '333333333333'),
    });
    const statements = memberExportBucketStatements(config);
    const bucket = { 'Fn::GetAtt': ['BackupBucket', 'Arn'] };
    const root = (id: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::${id}:root` });
    expect(statements.map((statement) => statement.Sid)).toEqual([
      'MemberExportObjectsOrdersDb',
      'MemberExportListOrdersDb',
      'MemberExportObjectsBillingDb',
      'MemberExportListBillingDb',
      'MemberExportBucketLocation',
    ]);
    expect(statements[2]).toEqual({
      Sid: 'MemberExportObjectsBillingDb',
      Effect: 'Allow',
      Principal: { AWS: root('333333333333') },
      Action: ['s3:PutObject*', 's3:GetObject*', 's3:DeleteObject*'],
      Resource: { 'Fn::Join': ['', [bucket, '/rds-exports/billing-db/*']] },
      Condition: { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::333333333333:role/rds-export' } },
    });
    expect(statements[3]?.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::333333333333:role/rds-export' },
      StringLike: { 's3:prefix': ['rds-exports/billing-db/*'] },
    });
    expect(statements[4]).toMatchObject({
      Principal: { AWS: [root('222222222222'), root('333333333333')] },
      Action: ['s3:GetBucketLocation'],
      Resource: bucket,
    });
  });
});
