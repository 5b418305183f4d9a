import { restoreOperation } from '../backup/database-places';
import type { RestoreRecord } from '../backup/records';
import { changeSnapshotShare } from '../backup/snapshot-shares';
import { logger } from '../observability';
import { errorName, type RestoresContext } from './restores-context';

/**
 * The share of a vault copy with the account a restore went into, removed once the restore has ended (available or
 * failed), so that it does not outlive it: asked again at every reconcile until RDS has taken it.
 */

/** Whether the restore ended with the vault copy still shared for it. */
export const shareOutstanding = (record: RestoreRecord) =>
  record.vaultShare !== undefined && record.vaultShare.removedAt === undefined;

// A copy deleted meanwhile (vault retention) is shared with no one.
const COPY_GONE = new Set(['DBSnapshotNotFoundFault', 'DBClusterSnapshotNotFoundFault']);

/**
 * Whether the share of `record`'s copy may be removed: not while another restore of the same copy into the same
 * account still needs it.
 */
export function mayRemoveShare(record: RestoreRecord, others: readonly RestoreRecord[]): boolean {
  if (!shareOutstanding(record) || record.status === 'RESTORING' || !('snapshotIdentifier' in record.from)) {
    return false;
  }
  const { snapshotIdentifier } = record.from;
  return !others.some(
    (other) =>
      other.id !== record.id &&
      other.status === 'RESTORING' &&
      other.vaultShare?.accountId === record.vaultShare?.accountId &&
      'snapshotIdentifier' in other.from &&
      other.from.snapshotIdentifier === snapshotIdentifier,
  );
}

/** Removes the share of an ended restore's copy through the vault's role, and records it removed. */
export async function removeShare(
  ctx: RestoresContext,
  record: RestoreRecord,
  others: readonly RestoreRecord[],
): Promise<string> {
  const share = record.vaultShare;
  if (share === undefined || !('snapshotIdentifier' in record.from)) return 'nothing shared';
  if (!mayRemoveShare(record, others)) return 'copy still shared for another restore';
  const rds = ctx.deps.rdsFor({ account: share.vault, region: record.region }, restoreOperation(record));
  try {
    await changeSnapshotShare(
      rds,
      { type: record.source.type, identifier: record.from.snapshotIdentifier, accountId: share.accountId },
      'remove',
    );
  } catch (error) {
    if (!COPY_GONE.has(errorName(error))) {
      logger.error('vault copy not unshared yet', { restoreId: record.id, error: error as Error });
      return 'copy not unshared yet';
    }
  }
  await ctx.deps.store.update<RestoreRecord>(record.id, ['AVAILABLE', 'FAILED'], {
    vaultShare: { ...share, removedAt: ctx.now().toISOString() },
    updatedAt: ctx.now().toISOString(),
  });
  return 'copy unshared';
}
