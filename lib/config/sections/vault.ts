import * as z from 'zod';
import { accountIdOf } from '../account-ids';
import { keyRegion, vaultKeyIn, vaultKeyList } from '../vault-keys';
import { accountName } from './accounts';
import { expects, kmsKeyArn } from './values';

/**
 * backups.vaultAccount and backups.vaultKmsKey: the account Slipway copies every RDS snapshot into, with
 * the vault's own role and key, so that whoever holds the source account's credentials cannot erase them.
 */

export const vaultKeys = {
  vaultAccount: accountName
    .optional()
    .describe(
      "The account (a name under accounts) that keeps a copy of every RDS snapshot: each available snapshot is shared with it (ModifyDBSnapshotAttribute restore), and copied there by the vault account's own role, which alone deletes those copies (retention, the database's plan). Absent: no vault copies",
    ),
  vaultKmsKey: z
    .union([
      kmsKeyArn,
      z.array(kmsKeyArn, expects('a KMS key ARN or a list of them')).min(1, expects('at least one key')),
    ])
    .optional()
    .describe(
      "The vault account's own KMS key (its ARN), or a list of them, at most one per region, the copies of encrypted snapshots are encrypted with: a copy is made in its snapshot's region, with the key of that region, so each encrypted database's region needs one (required with vaultAccount when a database names its kmsKeyArn). A shared encrypted snapshot is copied only with a key of the copying account (CopyDBSnapshot, RDS API Reference); the source key must be customer managed: RDS shares no snapshot encrypted with the account's default key aws/rds (RDS User Guide, \"Sharing encrypted snapshots\")",
    ),
};

interface VaultPlaced {
  accounts: Record<string, { roleArn: string; regions?: string[] | undefined }>;
  backups: { vaultAccount?: string | undefined; vaultKmsKey?: string | string[] | undefined };
  databases: Record<string, { region?: string | undefined; kmsKeyArn?: string | undefined }>;
}

type Issue = { path: Array<string | number>; message: string };

/**
 * What is wrong with the vault config makes: an account it does not name, a key of another account, two keys in
 * one region, a key missing where an encrypted database's snapshots are copied, a region the vault account does
 * not list.
 */
export function vaultIssues(config: VaultPlaced): Issue[] {
  const { vaultAccount, vaultKmsKey } = config.backups;
  if (vaultAccount === undefined) {
    return vaultKmsKey === undefined
      ? []
      : [{ path: ['backups', 'vaultKmsKey'], message: 'applies only with backups.vaultAccount, which is absent' }];
  }
  const account = Object.hasOwn(config.accounts, vaultAccount) ? config.accounts[vaultAccount] : undefined;
  if (!account) {
    const names = Object.keys(config.accounts);
    return [
      {
        path: ['backups', 'vaultAccount'],
        message:
          names.length === 0
            ? `expected the name of an account under accounts, but none is configured, received ${JSON.stringify(vaultAccount)}`
            : `expected one of the accounts config names (${names.join(', ')}), received ${JSON.stringify(vaultAccount)}`,
      },
    ];
  }
  const vaultId = accountIdOf(account.roleArn);
  const keys = vaultKeyList(vaultKmsKey);
  const keyPath = (index: number) =>
    typeof vaultKmsKey === 'string' ? ['backups', 'vaultKmsKey'] : ['backups', 'vaultKmsKey', index];
  const issues: Issue[] = [];
  const regionsSeen = new Set<string>();
  keys.forEach((key, index) => {
    const keyAccount = key.split(':')[4];
    if (keyAccount !== vaultId) {
      issues.push({
        path: keyPath(index),
        message: `is a key of account ${keyAccount}, not of the vault account ${vaultAccount} (${vaultId}): the vault's copies are encrypted with a key the source account cannot use or schedule for deletion`,
      });
    }
    const region = keyRegion(key);
    if (regionsSeen.has(region)) {
      issues.push({
        path: keyPath(index),
        message: `is a second vault key in ${region}: list at most one key per region, the key the copies made there are encrypted with`,
      });
    }
    regionsSeen.add(region);
  });
  const encrypted = Object.entries(config.databases).flatMap(([name, db]) =>
    db.kmsKeyArn === undefined
      ? []
      : // Without a region of its own the database is in the control plane's, where its key is too (an RDS
        // instance is encrypted with a key of its own region: RDS User Guide, "Encrypting Amazon RDS resources").
        [{ name, region: db.region ?? keyRegion(db.kmsKeyArn) }],
  );
  if (keys.length === 0) {
    return encrypted.length === 0
      ? issues
      : [
          {
            path: ['backups', 'vaultKmsKey'],
            message: `is required with vaultAccount: ${encrypted.map(({ name }) => `database ${name}`).join(', ')} ${encrypted.length === 1 ? 'is' : 'are'} encrypted, and the vault copies a shared encrypted snapshot only with a key of its own`,
          },
        ];
  }
  for (const { name, region } of encrypted) {
    // A vault copy is made in its snapshot's region, and a KMS key encrypts only in its own (CopyDBSnapshot, KmsKeyId).
    if (vaultKeyIn(keys, region) === undefined) {
      issues.push({
        path: ['backups', 'vaultKmsKey'],
        message: `has no key in ${region}, where the snapshots of encrypted database ${name} are copied into the vault: add a key of the vault account in ${region}`,
      });
    }
    if (account.regions && !account.regions.includes(region)) {
      issues.push({
        path: ['accounts', vaultAccount, 'regions'],
        message: `expected to include ${region}, where the snapshots of encrypted database ${name} are copied into the vault, received ${JSON.stringify(account.regions)}`,
      });
    }
  }
  return issues;
}
