/**
 * Backups and restores as Slipway records them: plain data, persisted by the store,
 * decided on by the use cases.
 */

export const SNAPSHOT_KINDS = ['rds-snapshot', 'rds-cluster-snapshot', 'snapshot-copy', 'snapshot-export'] as const;
export const ARCHIVE_KINDS = ['volume-archive', 'postgres-dump'] as const;
export const BACKUP_KINDS = [...SNAPSHOT_KINDS, ...ARCHIVE_KINDS] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];
export type ArchiveKind = (typeof ARCHIVE_KINDS)[number];
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** `bkp-<UUID>` and `rst-<UUID>`, as the use cases name backups and restores. */
export const BACKUP_ID = /^bkp-[0-9a-f-]{36}$/;
export const RESTORE_ID = /^rst-[0-9a-f-]{36}$/;

export const BACKUP_STATUSES = ['QUEUED', 'CREATING', 'AVAILABLE', 'FAILED', 'SKIPPED', 'DELETED'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];

/** An RDS snapshot, its copy in another region, or its export to S3. */
export interface BackupRecord {
  id: string;
  kind: SnapshotKind;
  database: string;
  /** The database's instance or cluster. */
  source: { type: 'instance' | 'cluster'; identifier: string };
  region: string;
  /** A copy in another account (the vault, backups.vaultAccount): that account's name under accounts; absent: the control plane's own. */
  account?: string;
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

/** The vault bucket an archive or dump is in (backups.vaultBucket, lib/backup/vault.ts). */
export interface VaultPlacement {
  /** The vault account's id: every write names it as the bucket's expected owner. */
  accountId: string;
  /** The bucket's region; absent: the control plane's own. */
  region?: string;
}

/** Where an archive or dump is run: a function with the volume mounted, or the worker task. */
export type WorkerRunner = 'lambda' | 'ecs';

/** A volume archive or a logical PostgreSQL dump in the backup bucket (or the vault bucket), with its manifest beside it. */
export interface ArchiveRecord {
  id: string;
  kind: ArchiveKind;
  /** Exactly one: the volume archived, or the database dumped. */
  volume?: string;
  database?: string;
  status: BackupStatus;
  reason?: string;
  trigger: string;
  runner: WorkerRunner;
  /** The ECS task running it (runner ecs). */
  taskArn?: string;
  bucket: string;
  /** In the vault bucket (backups.vaultBucket): Slipway writes and reads there, and never deletes. */
  vault?: VaultPlacement;
  /** Keys are under this prefix; the worker names them from the time it starts. */
  prefix: string;
  archiveKey?: string;
  manifestKey?: string;
  /** Bytes and SHA-256 of the stored object (the compressed archive, or the dump). */
  bytes?: number;
  sha256?: string;
  /** Volume archives: files archived, their bytes before compression, and whether none changed while read. */
  files?: number;
  sourceBytes?: number;
  consistent?: boolean;
  inconsistentCount?: number;
  skippedCount?: number;
  compression?: 'gzip' | 'zstd';
  /** Volume archives: the volume's sqlite globs (volumes.<v>.sqlite) with the regular expressions compiled from them. */
  sqlite?: Array<{ glob: string; source: string }>;
  /** Volume archives with sqlite globs: the databases taken through SQLite and checked. */
  sqliteDatabases?: number;
  /** PostgreSQL dumps: the secret (by name) the worker connects with, and the versions the manifest records. */
  credentialsSecret?: string;
  serverVersion?: string;
  pgDumpVersion?: string;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
  durationSeconds?: number;
  deletedAt?: string;
}

export type AnyBackupRecord = BackupRecord | ArchiveRecord;

export const isArchive = (record: AnyBackupRecord): record is ArchiveRecord =>
  (ARCHIVE_KINDS as readonly string[]).includes(record.kind);

/** The partition a record is listed under: a database's name, or `volume:<name>`. */
export const subjectOf = (record: { database?: string; volume?: string }): string =>
  record.volume !== undefined ? volumeSubject(record.volume) : (record.database as string);
export const volumeSubject = (volume: string) => `volume:${volume}`;

// QUEUED: a worker restore waiting for its worker to claim it.
export const RESTORE_STATUSES = ['QUEUED', 'RESTORING', 'AVAILABLE', 'FAILED', 'DELETED'] as const;
export type RestoreStatus = (typeof RESTORE_STATUSES)[number];

/** An RDS restore into a new instance or cluster. */
export interface RestoreRecord {
  id: string;
  kind?: 'rds';
  database: string;
  source: { type: 'instance' | 'cluster'; identifier: string };
  /** The backup restored, or the point in time. */
  from: { backupId: string; snapshotIdentifier: string } | { pointInTime: string };
  targetIdentifier: string;
  region: string;
  /** A restore of a vault copy, into the vault account (its name under accounts); absent: the control plane's own. */
  account?: string;
  status: RestoreStatus;
  reason?: string;
  requestedBy: string;
  /** A drill restores into a scratch identifier, checks it and deletes it. */
  drill: boolean;
  /**
   * The target is a Multi-AZ DB cluster: RDS made its instances, and its state is the cluster's.
   * Absent for an instance and an Aurora cluster, whose state is that of the writer Slipway created.
   */
  multiAZCluster?: boolean;
  createdAt: string;
  updatedAt: string;
  availableAt?: string;
  /** Seconds from the request until the target was available: the measured RTO. */
  durationSeconds?: number;
  /**
   * When the drill's scratch copy was seen gone (RDS no longer knows it); for a drill refused before
   * anything was created, when it was refused.
   */
  deletedAt?: string;
}

/** A volume archive restored into a directory, or a dump restored into a database, by the worker. */
export interface ArchiveRestoreRecord {
  id: string;
  kind: 'volume' | 'postgres-dump';
  volume?: string;
  database?: string;
  backupId: string;
  /**
   * A directory under the volume's root, a database on the dumped server, or (drills of volumes)
   * a scratch directory on the worker's own disk, never the live volume.
   */
  target: ArchiveRestoreTarget;
  /** Restore over existing files or into the source database, as the caller asked. */
  force: boolean;
  runner: WorkerRunner;
  taskArn?: string;
  status: RestoreStatus;
  reason?: string;
  requestedBy: string;
  drill: boolean;
  /** What was restored: files and bytes (volume), bytes (dump). */
  files?: number;
  bytes?: number;
  createdAt: string;
  updatedAt: string;
  availableAt?: string;
  durationSeconds?: number;
  deletedAt?: string;
}

export type ArchiveRestoreTarget = { path: string } | { database: string } | { scratch: true };

export type AnyRestoreRecord = RestoreRecord | ArchiveRestoreRecord;

export const isArchiveRestore = (record: AnyRestoreRecord): record is ArchiveRestoreRecord =>
  record.kind === 'volume' || record.kind === 'postgres-dump';

export const isBackupInFlight = (status: BackupStatus) => status === 'QUEUED' || status === 'CREATING';
