/**
 * Volume backups: a directory tree streamed into S3 as one compressed tar beside an NDJSON
 * manifest, and restores that check every byte against that manifest before the target is
 * touched. Memory stays bounded whatever the tree: the tree is walked lazily, files are read in
 * chunks, the manifest goes through a temp file, and the tar is never held whole.
 */

export { backupVolume } from './backup';
export { volumeKeys, volumePartSize, volumeTimestamp } from './keys';
export {
  RestoreVerificationFailed,
  VOLUME_MANIFEST_FORMAT,
  type VolumeManifestEntry,
  type VolumeManifestHeader,
  type VolumeManifestTrailer,
} from './manifest';
export { fetchManifest, restoreVolume } from './restore';
export { SQLITE_COMPANION_SUFFIXES, type SqliteRole, sqliteRoles } from './sqlite';
export type {
  BackupVolumeOptions,
  RestoreVolumeOptions,
  SkipReason,
  SqliteGlob,
  VolumeBackupResult,
  VolumeCompression,
  VolumeProgress,
  VolumeRestoreResult,
} from './types';
