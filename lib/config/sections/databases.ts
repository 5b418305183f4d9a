import * as z from 'zod';
import { DATABASE_PLACEMENT, placementKeys } from './accounts';
import {
  archiveDrill,
  awsRegion,
  boundedInt,
  expects,
  kmsKeyArn,
  NAME_RULE,
  retention,
  roleArn,
  scheduleExpression,
  secretReference,
} from './values';

/** databases: RDS snapshots, their copies and exports, restore drills, and logical dumps. */

// Snapshots are named slipway-<database>-<yyyymmddhhmm>, and RDS refuses an identifier that ends with
// a hyphen or holds two in a row (CreateDBSnapshot, CreateDBClusterSnapshot: RDS API Reference).
export const DATABASE_NAME_PATTERN = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;
export const DATABASE_NAME_RULE = `${NAME_RULE}, not ending with a dash nor holding two in a row (RDS snapshot identifiers cannot)`;
// A DB cluster snapshot identifier has at most 63 characters (CreateDBClusterSnapshot): slipway-<name>-<12 digits>.
export const CLUSTER_DATABASE_NAME_MAX = 63 - 'slipway-'.length - '-yyyymmddhhmm'.length;

export const database = z
  .strictObject(
    {
      rdsInstance: z
        .string(expects('an RDS DB instance identifier'))
        .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, expects('an RDS DB instance identifier'))
        .optional(),
      rdsCluster: z
        .string(expects('an RDS DB cluster identifier'))
        .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, expects('an RDS DB cluster identifier'))
        .optional(),
      ...placementKeys('the RDS instance or cluster', DATABASE_PLACEMENT),
      schedule: scheduleExpression.default('cron(0 3 * * ? *)'),
      retention: retention.default({ daily: 7, weekly: 4, monthly: 0 }),
      copyToRegion: awsRegion.optional(),
      copyKmsKeyId: kmsKeyArn
        .optional()
        .describe(
          'ARN of the KMS key in copyToRegion for copies of encrypted snapshots (required when the source is encrypted)',
        ),
      exportToS3: z.boolean(expects('true or false')).default(false),
      exportRoleArn: roleArn
        .optional()
        .describe(
          "Role RDS assumes to write the export to the backup bucket (required with exportToS3); for a database in another account, a role of that account, which the bucket's policy lets write under rds-exports/<database>/ only",
        ),
      exportKmsKeyId: kmsKeyArn
        .optional()
        .describe(
          'ARN of the KMS key the export is encrypted with (required with exportToS3); for a database in another account, a key of that account in the region of the snapshot exported',
        ),
      kmsKeyArn: kmsKeyArn
        .optional()
        .describe(
          "The KMS key (its ARN) the source and its snapshots are encrypted with. Required when the source is encrypted: restores and drills need kms:CreateGrant and kms:DescribeKey on it, which Slipway's restore roles get for this key only, and a restore of an encrypted source whose key is not this one is refused (422; a drill ends FAILED) before anything is created. Slipway reads the key from the source (StorageEncrypted, KmsKeyId) and the snapshot, and cannot tell the AWS managed key aws/rds from a customer managed one without a KMS call of its own: for a source on aws/rds, give that key's ARN (aws kms describe-key --key-id alias/aws/rds).",
        ),
      restoreDrill: z
        .strictObject(
          {
            schedule: scheduleExpression,
            instanceClass: z
              .string(expects('an instance class such as db.t4g.small'))
              .min(1)
              .optional()
              .describe("The scratch instance's class; default: the source's"),
            timeoutMinutes: boundedInt(10, 720)
              .default(120)
              .describe('A drill whose scratch database is not available after this long fails'),
          },
          expects('a restore drill {schedule, instanceClass?, timeoutMinutes?}'),
        )
        .optional()
        .describe('Restore the newest snapshot into a scratch instance on a schedule, to prove it restores'),
      dump: z
        .strictObject(
          {
            credentialsSecret: secretReference.describe(
              'Secrets Manager secret in the RDS format {host, port, username, password, dbname} the dump connects with',
            ),
            schedule: scheduleExpression.default('cron(0 4 * * ? *)'),
            retention: retention.default({ daily: 7, weekly: 4, monthly: 0 }),
            restoreDrill: archiveDrill,
          },
          expects('a dump {credentialsSecret, schedule, retention, restoreDrill?}'),
        )
        .optional()
        .describe('Logical PostgreSQL dumps (pg_dump -Fc) to S3, run by the worker task'),
    },
    expects('a database {rdsInstance | rdsCluster, schedule, retention, ...}'),
  )
  .superRefine((db, ctx) => {
    const copyKeyRegion = db.copyKmsKeyId?.split(':')[3];
    if (db.copyToRegion && copyKeyRegion && copyKeyRegion !== db.copyToRegion) {
      ctx.addIssue({
        code: 'custom',
        path: ['copyKmsKeyId'],
        message: `is a key in ${copyKeyRegion}, not in copyToRegion ${db.copyToRegion}: a copy is encrypted in its destination region`,
      });
    }
    if (db.exportToS3 && (!db.exportRoleArn || !db.exportKmsKeyId)) {
      ctx.addIssue({
        code: 'custom',
        path: [db.exportRoleArn ? 'exportKmsKeyId' : 'exportRoleArn'],
        message: 'is required with exportToS3: true (StartExportTask needs a role and a KMS key)',
      });
    }
  })
  .refine((db) => (db.rdsInstance === undefined) !== (db.rdsCluster === undefined), {
    error: (issue) =>
      `expected exactly one of rdsInstance or rdsCluster, received ${
        (issue.input as { rdsInstance?: string } | undefined)?.rdsInstance === undefined ? 'neither' : 'both'
      }`,
  });
