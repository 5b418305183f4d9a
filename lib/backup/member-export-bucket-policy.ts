import { logicalId } from '../aws/cloudformation';
import { accountIdOf } from '../config/account-ids';
import type { SlipwayConfig } from '../config/schema';
import { exportsPrefix } from './export-places';

/**
 * What the backup bucket's policy (resources/backup-bucket.yml, BackupBucketPolicy) adds for the databases of member
 * accounts exported to S3: RDS writes their exports as the export role config names, a role of the database's
 * account, which a bucket of another account admits only if its policy says so (Amazon S3 User Guide, "Bucket owner
 * granting cross-account bucket permissions"). Each role on its database's prefix alone, with the actions the role
 * needs there (StartExportTask, RDS API Reference: IamRoleArn); versions stay the root user's to erase
 * (DenyErasureButByRoot). Appended to the policy by serverless/backup-bucket-statements.cjs.
 */

type Json = Record<string, unknown>;

const BUCKET_ARN = { 'Fn::GetAtt': ['BackupBucket', 'Arn'] };

/** The account as principal and the role in aws:PrincipalArn: a policy naming a role that does not exist yet is refused. */
const byRole = (roleArn: string) => ({
  Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${accountIdOf(roleArn)}:root` } },
});

/** The bucket policy's statements for member accounts' exports; none when no such database is exported. */
export function memberExportBucketStatements(config: Pick<SlipwayConfig, 'databases'>): Json[] {
  const exported = Object.entries(config.databases).flatMap(([name, db]) =>
    db.account !== undefined && db.exportToS3 && db.exportRoleArn ? [{ name, roleArn: db.exportRoleArn }] : [],
  );
  if (exported.length === 0) return [];
  const roles = [...new Set(exported.map(({ roleArn }) => roleArn))];
  return [
    ...exported.flatMap(({ name, roleArn }) => [
      {
        Sid: logicalId('MemberExportObjects', name),
        Effect: 'Allow',
        ...byRole(roleArn),
        Action: ['s3:PutObject*', 's3:GetObject*', 's3:DeleteObject*'],
        Resource: { 'Fn::Join': ['', [BUCKET_ARN, `/${exportsPrefix(name)}*`]] },
        Condition: { ArnEquals: { 'aws:PrincipalArn': roleArn } },
      },
      {
        Sid: logicalId('MemberExportList', name),
        Effect: 'Allow',
        ...byRole(roleArn),
        Action: ['s3:ListBucket'],
        Resource: BUCKET_ARN,
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': roleArn },
          StringLike: { 's3:prefix': [`${exportsPrefix(name)}*`] },
        },
      },
    ]),
    // Where the bucket is, which names no prefix.
    {
      Sid: 'MemberExportBucketLocation',
      Effect: 'Allow',
      Principal: {
        AWS: [...new Set(roles.map(accountIdOf))].map((id) => ({
          'Fn::Sub': `arn:\${AWS::Partition}:iam::${id}:root`,
        })),
      },
      Action: ['s3:GetBucketLocation'],
      Resource: BUCKET_ARN,
      Condition: { ArnEquals: { 'aws:PrincipalArn': roles } },
    },
  ];
}
