import { createRdsClient } from '../aws/clients/rds';
import type { Backups } from '../backup/backups';
import { type BackupsContext, backupsContext, type VaultPorts } from '../backup/backups-context';
import { reconcileBackups } from '../backup/snapshot-settlement';
import { accountIdOf } from '../config/account-ids';
import { type RestoreRequest, requestRestore } from '../restore/restore-requests';
import { reconcileRestores } from '../restore/restore-settlement';
import type { Restores } from '../restore/restores';
import { type ControlPlaneAccount, type RestoresContext, restoresContext } from '../restore/restores-context';
import { accountCredentials } from './accounts';
import { backupsDeps } from './backups';
import { config } from './config';
import { kmsFor } from './kms';
import { restoresDeps } from './restores';

/**
 * The flows that reach the backup vault (backups.vaultAccount), each over a context of its own, so that the functions
 * that never act there (taking snapshots, RDS events, drills) neither bundle nor reach the vault's sessions: the
 * snapshot reconciler (vault copies, their settlement and retention), restore requests (of a vault copy) and the
 * restore reconciler (following them).
 */

/** RDS in the vault account as the operation's session on its role, and KMS where each database is; none without a vault. */
function vaultPorts(): { vault: VaultPorts } | Record<string, never> {
  const account = config().backups.vaultAccount;
  if (account === undefined) return {};
  return {
    vault: {
      rdsIn: (region, operation) => accountCredentials().client(createRdsClient, { account, region }, operation),
      kmsFor,
    },
  };
}

let snapshots: BackupsContext | undefined;
let restores: RestoresContext | undefined;

/** The snapshot reconciler: settles what events left open, starts queued copies (the vault's too), exports, retention, ages. */
export function snapshotReconciler(): Pick<Backups, 'reconcile'> {
  snapshots ??= backupsContext({ ...backupsDeps(), ...vaultPorts() });
  const ctx = snapshots;
  return { reconcile: () => reconcileBackups(ctx) };
}

/**
 * The control plane's own account, from the role createRestore runs as (RESTORING_ROLE_ARN, which the template sets to
 * that role's ARN): a vault copy restored there is shared with its id, the vault key's use granted to the role. None
 * under npm start, which runs as no such role.
 */
function controlPlaneAccount(): { controlPlane: ControlPlaneAccount } | Record<string, never> {
  const role = process.env.RESTORING_ROLE_ARN;
  return role ? { controlPlane: { accountId: accountIdOf(role), restoringRoleArn: role } } : {};
}

function restoresAnywhere(): RestoresContext {
  // KMS in the vault account: a vault copy restored into another account has the vault key's use granted there.
  restores ??= restoresContext({ ...restoresDeps(), kmsFor, ...controlPlaneAccount() });
  return restores;
}

/** Restore requests, a vault copy's into the vault account among them. */
export function restoreRequestsAnywhere(): Pick<Restores, 'request'> {
  const ctx = restoresAnywhere();
  return { request: (asked: RestoreRequest) => requestRestore(ctx, asked) };
}

/** The restore reconciler, following restores in the vault account too. */
export function restoreReconciler(): Pick<Restores, 'reconcile'> {
  const ctx = restoresAnywhere();
  return { reconcile: () => reconcileRestores(ctx) };
}
