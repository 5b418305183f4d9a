import type { S3Client } from '@aws-sdk/client-s3';
import type { VaultPlacement } from '../../backup/records';

// The shapes callers pass to a backup or a restore and get back

export type VolumeCompression = 'gzip' | 'zstd';

/** A glob naming SQLite databases under a volume's root. */
export interface SqliteGlob {
  glob: string;
  /** The regular expression picomatch made of the glob when the config was loaded (lib/config/glob-compile.ts). */
  source: string;
}

export interface VolumeProgress {
  files: number;
  bytes: number;
}

// sqlite-companion: the -wal, -shm or -journal of a database taken through SQLite, whose copy holds what they held.
export const SKIP_REASONS = [
  'socket',
  'fifo',
  'character-device',
  'block-device',
  'vanished',
  'sqlite-companion',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface VolumeBackupResult {
  archiveKey: string;
  manifestKey: string;
  archiveBytes: number;
  archiveSha256: string;
  files: number;
  bytes: number;
  consistent: boolean;
  /** The first 100 paths that changed while they were read; `inconsistentCount` has them all. */
  inconsistent: string[];
  inconsistentCount: number;
  /** The first 100 entries not archived (sockets, fifos, devices, vanished mid-walk, SQLite's own side files). */
  skipped: Array<{ path: string; reason: SkipReason }>;
  skippedCount: number;
  /** Databases taken through SQLite and checked, rather than copied as files. */
  sqliteDatabases: number;
  durationMs: number;
}

export interface BackupVolumeOptions {
  dir: string;
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** The bucket is the vault: written as one (lib/worker/object-writes.ts). */
  vault?: VaultPlacement;
  compression?: VolumeCompression;
  /** Files these globs match (paths relative to `dir`) are SQLite databases, taken whole (./sqlite.ts). */
  sqlite?: SqliteGlob[];
  /** The sqlite3 command; default: sqlite3 on PATH. */
  sqlite3?: string;
  now?: () => Date;
  /** Called as bytes are read, not only per file, so a huge file still shows progress. */
  onProgress?: (progress: VolumeProgress) => void;
}

export interface RestoreVolumeOptions {
  s3: S3Client;
  bucket: string;
  manifestKey: string;
  target: string;
  /**
   * The volume the target is in: the target must be inside it, and no component from the root to the
   * target may be a symbolic link. Without it the target is the caller's own path, its parent as it resolves.
   */
  root?: string;
  force?: boolean;
  /** The sqlite3 command that checks the databases the manifest marks; default: sqlite3 on PATH. */
  sqlite3?: string;
  onProgress?: (progress: VolumeProgress) => void;
}

export interface VolumeRestoreResult {
  files: number;
  bytes: number;
  /** Databases the manifest marks as taken through SQLite, each passing PRAGMA integrity_check once restored. */
  sqliteDatabases: number;
  durationMs: number;
  target: string;
}
