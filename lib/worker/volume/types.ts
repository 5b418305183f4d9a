import type { S3Client } from '@aws-sdk/client-s3';
import type { VaultPlacement } from '../../backup/records';

// The shapes callers pass to a backup or a restore and get back

export type VolumeCompression = 'gzip' | 'zstd';

export interface VolumeProgress {
  files: number;
  bytes: number;
}

export type SkipReason = 'socket' | 'fifo' | 'character-device' | 'block-device' | 'vanished';

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
  /** The first 100 entries not archived (sockets, fifos, devices, vanished mid-walk). */
  skipped: Array<{ path: string; reason: SkipReason }>;
  skippedCount: number;
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
  onProgress?: (progress: VolumeProgress) => void;
}

export interface VolumeRestoreResult {
  files: number;
  bytes: number;
  durationMs: number;
  target: string;
}
