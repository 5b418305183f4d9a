/**
 * Backups and restores as Slipway records them: plain data, persisted by the store,
 * decided on by the use cases.
 */

export const BACKUP_KINDS = ['rds-snapshot', 'rds-cluster-snapshot', 'snapshot-copy', 'snapshot-export'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

export const BACKUP_STATUSES = ['QUEUED', 'CREATING', 'AVAILABLE', 'FAILED', 'SKIPPED', 'DELETED'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];

export interface BackupRecord {
  id: string;
  kind: BackupKind;
  database: string;
  /** The database's instance or cluster. */
  source: { type: 'instance' | 'cluster'; identifier: string };
  region: string;
  /** The snapshot (for a copy, the copy's identifier in its region; for an export, the export task). */
  snapshotIdentifier: string;
  snapshotArn?: string;
  status: BackupStatus;
  reason?: string;
  /** What asked for it: the schedule, `api:<principal>`, or the backup it follows from. */
  trigger: string;
  /** For a copy or an export: the snapshot it was made from. */
  parentId?: string;
  sizeGiB?: number;
  encrypted?: boolean;
  kmsKeyId?: string;
  /** For an export: where in the backup bucket it is written. */
  s3Prefix?: string;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
  durationSeconds?: number;
  deletedAt?: string;
}

export const RESTORE_STATUSES = ['RESTORING', 'AVAILABLE', 'FAILED', 'DELETED'] as const;
export type RestoreStatus = (typeof RESTORE_STATUSES)[number];

export interface RestoreRecord {
  id: string;
  database: string;
  source: { type: 'instance' | 'cluster'; identifier: string };
  /** The backup restored, or the point in time. */
  from: { backupId: string; snapshotIdentifier: string } | { pointInTime: string };
  targetIdentifier: string;
  region: string;
  status: RestoreStatus;
  reason?: string;
  requestedBy: string;
  /** A drill restores into a scratch identifier, checks it and deletes it. */
  drill: boolean;
  createdAt: string;
  updatedAt: string;
  availableAt?: string;
  /** Seconds from the request until the target was available: the measured RTO. */
  durationSeconds?: number;
  deletedAt?: string;
}

export const isBackupInFlight = (status: BackupStatus) => status === 'QUEUED' || status === 'CREATING';
