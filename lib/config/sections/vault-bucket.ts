import * as z from 'zod';
import { accountIdOf } from '../account-ids';
import { type PlacementIssue, referenceIssue } from './accounts';
import { awsRegion, boundedInt, expects, roleArn } from './values';

/**
 * backups.vaultBucket: an S3 bucket in another account (a name under accounts) that volume archives and dumps
 * are written to instead of the backup bucket, and that Slipway can write and read but never erase. The vault
 * account's member template holds it (lib/events/member-account/vault-bucket.ts).
 */

// Amazon S3 User Guide, "General purpose bucket naming rules": 3 to 63 lowercase letters, digits, dots and
// hyphens, beginning and ending with a letter or digit. Dots are left out: a dotted name breaks the
// virtual-hosted TLS certificate, and the rules advise against them.
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const vaultBucket = z.strictObject(
  {
    name: z
      .string(expects('an S3 bucket name'))
      .regex(BUCKET_NAME, expects('an S3 bucket name of 3 to 63 lowercase letters, digits and hyphens'))
      .describe("The vault bucket's name; the vault account's member template creates it"),
    account: z
      .string(expects('the name of an account under accounts'))
      .min(1, expects('the name of an account under accounts'))
      .describe(
        "The account (a name under accounts) that owns the bucket: not the control plane's own, so that its credentials cannot erase what is there",
      ),
    region: awsRegion
      .optional()
      .describe(
        "The bucket's region, one of the account's regions when it lists them; absent: the control plane's own region",
      ),
    lockDays: boundedInt(1, 36_500)
      .default(35)
      .describe(
        "Days every object version written stays locked (S3 Object Lock, COMPLIANCE mode, the bucket's default retention): no one, the vault account's root user included, can delete or overwrite it sooner",
      ),
    expireDays: boundedInt(1, 36_500)
      .default(400)
      .describe(
        "Days after which the vault account's lifecycle rule expires an object, and then removes the version once its lock has ended: at least lockDays, and at least as long as any volume's or dump's retention keeps its archives, so that an archive Slipway lists is still there to restore",
      ),
    breakGlassRoleArn: roleArn
      .optional()
      .describe(
        'A role of the vault account (an IAM role ARN) that the bucket policy exempts from its denials, to delete what the lock no longer holds or to extend a lock by hand; absent: no one is exempted',
      ),
  },
  expects('a vault bucket {name, account, region?, lockDays?, expireDays?, breakGlassRoleArn?}'),
);

export type VaultBucketConfig = z.output<typeof vaultBucket>;

type Retention = { daily: number; weekly: number; monthly: number };

/** The age in days of the oldest archive `retention` can keep: its last monthly, weekly or daily one. */
export function longestKeptDays(retention: Retention): number {
  return Math.max(retention.daily, retention.weekly * 7, retention.monthly * 31);
}

interface VaultPlaceable {
  accounts: Parameters<typeof referenceIssue>[0];
  backups: { vaultBucket?: VaultBucketConfig | undefined };
  volumes: Record<string, { retention: Retention }>;
  databases: Record<string, { dump?: { retention: Retention } | undefined }>;
}

/** What is wrong with backups.vaultBucket against the rest of config, each with its key path. */
export function vaultBucketIssues(config: VaultPlaceable): PlacementIssue[] {
  const vault = config.backups.vaultBucket;
  if (!vault) return [];
  const path = ['backups', 'vaultBucket'];
  const issues: PlacementIssue[] = [];
  const wrong = referenceIssue(config.accounts, vault, path);
  if (wrong) issues.push(wrong);
  const account = config.accounts[vault.account];
  if (account && vault.breakGlassRoleArn && accountIdOf(vault.breakGlassRoleArn) !== accountIdOf(account.roleArn)) {
    issues.push({
      path: [...path, 'breakGlassRoleArn'],
      message: `expected a role of account ${vault.account} (${accountIdOf(account.roleArn)}), received one of ${accountIdOf(vault.breakGlassRoleArn)}`,
    });
  }
  if (vault.expireDays < vault.lockDays) {
    issues.push({
      path: [...path, 'expireDays'],
      message: `expected at least lockDays (${vault.lockDays}): a locked object cannot expire, received ${vault.expireDays}`,
    });
  }
  const kept = [
    ...Object.entries(config.volumes).map(([name, volume]) => [`volume ${name}`, volume.retention] as const),
    ...Object.entries(config.databases).flatMap(([name, db]) =>
      db.dump ? [[`the dumps of database ${name}`, db.dump.retention] as const] : [],
    ),
  ].map(([what, retention]) => ({ what, days: longestKeptDays(retention) }));
  const longest = kept.reduce((max, entry) => (entry.days > max.days ? entry : max), { what: '', days: 0 });
  if (longest.days > vault.expireDays) {
    issues.push({
      path: [...path, 'expireDays'],
      message: `expected at least ${longest.days} days: the retention of ${longest.what} keeps archives that long, and the vault would expire them first, received ${vault.expireDays}`,
    });
  }
  return issues;
}
