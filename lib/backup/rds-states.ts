/**
 * What an RDS status means for what Slipway waits on: a snapshot (or its copy) being made, a restore
 * target coming up, a source that may be snapshotted. Only the statuses AWS documents as final end a
 * wait; any other one, known or new, is still in progress.
 */

export type Progress = 'available' | 'failed' | 'in-progress';

/**
 * DBSnapshot.Status and DBClusterSnapshot.Status (RDS API Reference) list no values; the RDS waiters
 * (DBSnapshotAvailable, DBClusterSnapshotAvailable in the RDS service model the SDKs ship) end a wait
 * as failed on these. `pending` (a cross-region copy waiting to start), `creating`, `copying` and
 * anything else go on. `missing` is Slipway's word for DB(Cluster)SnapshotNotFoundFault: it is gone.
 */
const FAILED_SNAPSHOT = new Set(['deleted', 'deleting', 'failed', 'missing']);

export function snapshotProgress(status: string): Progress {
  if (status === 'available') return 'available';
  if (FAILED_SNAPSHOT.has(status) || status.startsWith('incompatible-')) return 'failed';
  return 'in-progress';
}

/**
 * The statuses a restored instance or cluster does not leave by waiting: DBInstance.DBInstanceStatus
 * ("Viewing Amazon RDS DB instance status", RDS User Guide) and DBCluster.Status ("Viewing DB cluster
 * status", Aurora User Guide; the same values for Multi-AZ DB clusters).
 */
const FAILED_TARGET = new Set([
  'failed',
  'restore-error',
  'incompatible-restore',
  'incompatible-parameters',
  'incompatible-network',
  'incompatible-option-group',
  'inaccessible-encryption-credentials',
  'insufficient-capacity',
  'cloning-failed',
  'migration-failed',
]);

export function restoreTargetProgress(status: string): Progress {
  if (status === 'available') return 'available';
  return FAILED_TARGET.has(status) ? 'failed' : 'in-progress';
}

/**
 * CreateDBSnapshot (RDS API Reference): "The source DB instance must be in the available or
 * storage-optimization state." A DB cluster must be available (CreateDBClusterSnapshot, "Creating a
 * DB cluster snapshot", Aurora User Guide).
 */
export function maySnapshot(type: 'instance' | 'cluster', status: string): boolean {
  return status === 'available' || (type === 'instance' && status === 'storage-optimization');
}
