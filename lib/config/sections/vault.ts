import { accountIdOf } from '../account-ids';
import { accountName } from './accounts';
import { kmsKeyArn } from './values';

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
  vaultKmsKey: kmsKeyArn
    .optional()
    .describe(
      "ARN of the vault account's own KMS key the copies of encrypted snapshots are encrypted with, in the databases' region (required with vaultAccount when a database names its kmsKeyArn). A shared encrypted snapshot is copied only with a key of the copying account (CopyDBSnapshot, RDS API Reference); the source key must be customer managed: RDS shares no snapshot encrypted with the account's default key aws/rds (RDS User Guide, \"Sharing encrypted snapshots\")",
    ),
};

interface VaultPlaced {
  accounts: Record<string, { roleArn: string }>;
  backups: { vaultAccount?: string | undefined; vaultKmsKey?: string | undefined };
  databases: Record<string, { kmsKeyArn?: string | undefined }>;
}

/** What is wrong with the vault config makes: an account it does not name, a key of another account, a key missing. */
export function vaultIssues(config: VaultPlaced): Array<{ path: Array<string | number>; message: string }> {
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
  if (vaultKmsKey !== undefined) {
    const keyAccount = vaultKmsKey.split(':')[4];
    return keyAccount === vaultId
      ? []
      : [
          {
            path: ['backups', 'vaultKmsKey'],
            message: `is a key of account ${keyAccount}, not of the vault account ${vaultAccount} (${vaultId}): the vault's copies are encrypted with a key the source account cannot use or schedule for deletion`,
          },
        ];
  }
  const encrypted = Object.entries(config.databases).filter(([, db]) => db.kmsKeyArn !== undefined);
  return encrypted.length === 0
    ? []
    : [
        {
          path: ['backups', 'vaultKmsKey'],
          message: `is required with vaultAccount: ${encrypted.map(([name]) => `database ${name}`).join(', ')} ${encrypted.length === 1 ? 'is' : 'are'} encrypted, and the vault copies a shared encrypted snapshot only with a key of its own`,
        },
      ];
}
