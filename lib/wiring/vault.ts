import { createKmsClient } from '../aws/clients/kms';
import { createRdsClient } from '../aws/clients/rds';
import { sharedByRegion } from '../aws/shared-clients';
import type { VaultPorts } from '../backup/backups-context';
import type { RestoresDeps } from '../restore/restores-context';
import { accountCredentials } from './accounts';
import { config } from './config';

/**
 * The backup vault's ports, with backups.vaultAccount (none without): RDS in the vault account as the operation's
 * session on the vault's role, and KMS where the snapshots are (the control plane's own account, for now).
 */
export function vaultPorts(): VaultPorts | undefined {
  const account = config().backups.vaultAccount;
  if (account === undefined) return undefined;
  return {
    rdsIn: (region, operation) => accountCredentials().client(createRdsClient, { account, region }, operation),
    sourceKmsFor: sharedByRegion(createKmsClient),
  };
}

/** Restores of vault copies and their settlement: RDS in the vault account, with backups.vaultAccount. */
export function vaultRestorePorts(): Pick<RestoresDeps, 'rdsInAccount'> {
  if (config().backups.vaultAccount === undefined) return {};
  return {
    rdsInAccount: (account, region, operation) =>
      accountCredentials().client(createRdsClient, { account, region }, operation),
  };
}
