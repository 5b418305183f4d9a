import { exportRegion } from '../../backup/export-places';
import type { SlipwayConfig } from '../../config/schema';
import { inAccount, unique } from './cloudformation';
import { snapshotPrefix } from './databases';

/**
 * What a member account's role needs to export its databases' snapshots to the control plane's backup bucket
 * (exportToS3 on a database config places in the account, lib/backup/snapshot-follow-ups.ts): start the export of
 * Slipway's snapshots of those databases in the bucket's region, follow the account's export tasks there, hand RDS
 * exactly the export roles config names, and let RDS use exactly the export keys. The control plane's own
 * exportSnapshots, describeExports, passExportRole and useBackupKeys (serverless/iam/statements.yml) narrowed to them.
 * The export role itself (trusted by export.rds.amazonaws.com, writing under rds-exports/<database>/) is the
 * account's to create: docs/member-accounts.md, "Exports to S3".
 */

type Json = Record<string, unknown>;

interface Exported {
  name: string;
  type: 'instance' | 'cluster';
  region: string;
  roleArn: string;
  keyArn: string;
}

/** The account's databases exported to S3, each with the region its exported snapshot is in (the bucket's). */
function exportedDatabases(config: SlipwayConfig, account: string, controlPlaneRegion: string): Exported[] {
  return Object.entries(config.databases).flatMap(([name, db]) => {
    const region = db.account === account && db.exportToS3 ? exportRegion(db, controlPlaneRegion) : undefined;
    // Config requires both with exportToS3 (lib/config/sections/databases.ts); with no region to export in, RDS
    // is never asked (lib/backup/export-places.ts, exportRefusal), so nothing is granted.
    if (region === undefined || !db.exportRoleArn || !db.exportKmsKeyId) return [];
    const type = db.rdsCluster ? ('cluster' as const) : ('instance' as const);
    return [{ name, type, region, roleArn: db.exportRoleArn, keyArn: db.exportKmsKeyId }];
  });
}

/** The role's statements for the account's exports; none when config exports none of its databases. */
export function exportStatements(config: SlipwayConfig, account: string, controlPlaneRegion: string): Json[] {
  const exported = exportedDatabases(config, account, controlPlaneRegion);
  if (exported.length === 0) return [];
  const regions = unique(exported.map(({ region }) => region)).sort();
  return [
    {
      Sid: 'ExportSnapshots',
      Effect: 'Allow',
      Action: ['rds:StartExportTask'],
      Resource: unique(
        exported.map((one) =>
          inAccount(
            'rds',
            one.region,
            `${one.type === 'cluster' ? 'cluster-snapshot' : 'snapshot'}:${snapshotPrefix(one.name)}*`,
          ),
        ),
      ),
    },
    // Asked by task identifier, or for the account's running tasks (its limit of five): authorised against "*".
    {
      Sid: 'DescribeExports',
      Effect: 'Allow',
      Action: ['rds:DescribeExportTasks'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': regions } },
    },
    // StartExportTask hands RDS the role it writes to S3 as (StartExportTask, RDS API Reference: IamRoleArn).
    {
      Sid: 'PassExportRoles',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: unique(exported.map(({ roleArn }) => roleArn)),
      Condition: { StringEquals: { 'iam:PassedToService': 'export.rds.amazonaws.com' } },
    },
    // "The caller of this operation must be authorized to run kms:CreateGrant and kms:DescribeKey" (StartExportTask,
    // RDS API Reference: KmsKeyId), which RDS calls as the caller.
    {
      Sid: 'UseExportKeys',
      Effect: 'Allow',
      Action: ['kms:CreateGrant', 'kms:DescribeKey'],
      Resource: unique(exported.map(({ keyArn }) => keyArn)),
      Condition: { StringEquals: { 'kms:ViaService': regions.map((region) => `rds.${region}.amazonaws.com`) } },
    },
  ];
}
