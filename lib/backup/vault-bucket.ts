import { accountIdOf } from '../config/account-ids';
import type { SlipwayConfig } from '../config/schema';
import type { VaultPlacement } from './records';

/**
 * Where a new archive or dump is written: the vault bucket when config names one (backups.vaultBucket),
 * else the control plane's backup bucket. A record in the vault says so, with the account that owns the
 * bucket and its region, so that the worker writes there as to a vault (lib/worker/object-writes.ts) and
 * retention never deletes there, whatever config says later.
 */

export interface ArchiveDestination {
  bucket: string;
  vault?: VaultPlacement;
}

export function archiveDestination(config: Pick<SlipwayConfig, 'backups' | 'accounts'>, backupBucket: string) {
  const vault = config.backups.vaultBucket;
  const account = vault ? config.accounts[vault.account] : undefined;
  // Config refuses a vault account it does not name (lib/config/sections/vault-bucket.ts).
  if (!vault || !account) return { bucket: backupBucket } satisfies ArchiveDestination;
  return {
    bucket: vault.name,
    vault: { accountId: accountIdOf(account.roleArn), ...(vault.region ? { region: vault.region } : {}) },
  } satisfies ArchiveDestination;
}
