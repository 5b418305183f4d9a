import { accountIdOf } from '../account-ids';

/**
 * An export to S3 of a database in another account: RDS starts it there, through that account's role, so the role
 * RDS assumes to write (exportRoleArn) is passed by that role (iam:PassRole hands over roles of the caller's own
 * account only: IAM User Guide, "Granting a user permissions to pass a role to an AWS service"), and the key
 * (exportKmsKeyId) is one RDS uses there, in the region of the snapshot it exports.
 */

// accounts.ts's ExportIssue, which imports this file.
interface ExportIssue {
  path: Array<string | number>;
  message: string;
}

interface ExportedDatabase {
  account?: string | undefined;
  region?: string | undefined;
  copyToRegion?: string | undefined;
  exportToS3?: boolean | undefined;
  exportRoleArn?: string | undefined;
  exportKmsKeyId?: string | undefined;
}

/** What is wrong with the export of a database config places in account `accountName` (whose role is `roleArn`). */
export function memberExportIssues(
  accountName: string,
  roleArn: string,
  db: ExportedDatabase,
  path: Array<string | number>,
): ExportIssue[] {
  if (!db.exportToS3) return [];
  const accountId = accountIdOf(roleArn);
  const issues: ExportIssue[] = [];
  const inOtherAccount = (key: 'exportRoleArn' | 'exportKmsKeyId', arn: string | undefined, what: string) => {
    if (arn !== undefined && accountIdOf(arn) !== accountId) {
      issues.push({
        path: [...path, key],
        message: `is ${what} of account ${accountIdOf(arn)}, but the database is in account ${accountName} (${accountId}): RDS exports it there, with ${what} of that account`,
      });
    }
  };
  inOtherAccount('exportRoleArn', db.exportRoleArn, 'a role');
  inOtherAccount('exportKmsKeyId', db.exportKmsKeyId, 'a key');
  // RDS exports the snapshot in the backup bucket's region: the database's own, or its copy (lib/backup/export-places.ts).
  // With no region named, the database is in the control plane's, which config does not know.
  const keyRegion = db.exportKmsKeyId?.split(':')[3];
  const regions = db.region === undefined ? [] : [db.region, ...(db.copyToRegion ? [db.copyToRegion] : [])];
  if (keyRegion !== undefined && regions.length > 0 && !regions.includes(keyRegion)) {
    issues.push({
      path: [...path, 'exportKmsKeyId'],
      message: `is a key in ${keyRegion}, but the snapshots exported are in ${regions.join(' or ')}: RDS encrypts an export with a key of its snapshot's region`,
    });
  }
  return issues;
}
