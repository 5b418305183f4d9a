import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Conflict, SlipwayError, Unprocessable } from '../errors';
import {
  backupTimestamp,
  countRelations,
  dropDatabase,
  type PgConnection,
  RestoreFailed,
  restorePostgres,
} from './postgres';
import { label } from './postgres/connection';
import { type BackupKind, backupsUnder, listingPrefix, newestComplete, type PrefixBackup } from './prefix-backups';
import { fetchManifest, RestoreVerificationFailed, restoreVolume, type VolumeProgress } from './volume';

/**
 * The restore drills of the command line, for a host with no control plane: the newest complete backup under a prefix
 * restored into scratch (a directory, or a new database on a server), verified, timed and removed, whatever the
 * outcome. The time from the start to a verified restore is the recovery time (RTO) the drill proves; it fails past
 * `maxRtoSeconds`. What a drill verifies is what the control plane's drills do (jobs.ts runRestore), and more: a volume
 * restore checks every file's SHA-256 and the archive's, then the restored tree is counted on disk against the
 * manifest; a dump restore checks the dump's size and SHA-256 and pg_restore's exit, then the catalog of the restored
 * database is queried.
 */

export interface DrillTarget {
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** The recovery time objective: a slower restore fails the drill. */
  maxRtoSeconds?: number;
}

export interface DrillReport {
  ok: boolean;
  /** The backup drilled, once one was found. */
  manifest?: string;
  createdAt?: string;
  /** From the drill's start to a verified restore, before the clean-up. */
  recoverySeconds?: number;
  maxRtoSeconds?: number;
  /** Why the drill failed. */
  reason?: string;
  [fact: string]: unknown;
}

interface Restored {
  facts: Record<string, unknown>;
  recoverySeconds: number;
}

const reasonOf = (error: unknown) =>
  error instanceof SlipwayError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;

/** Finds the newest complete backup of the kind, restores and verifies it (`restore`), and judges the time it took. */
async function drill(
  kind: BackupKind,
  target: DrillTarget,
  restore: (backup: PrefixBackup, stopwatch: () => number) => Promise<Restored>,
): Promise<DrillReport> {
  const started = performance.now();
  const stopwatch = () => Math.round(performance.now() - started) / 1000;
  const objective = target.maxRtoSeconds !== undefined ? { maxRtoSeconds: target.maxRtoSeconds } : {};
  let found: PrefixBackup | undefined;
  try {
    const { backups } = await backupsUnder(target.s3, target.bucket, target.prefix);
    found = newestComplete(backups, kind);
    if (!found) {
      throw new Unprocessable(
        `no complete ${kind} backup under s3://${target.bucket}/${listingPrefix(target.prefix)} to drill`,
      );
    }
    const { facts, recoverySeconds } = await restore(found, stopwatch);
    const report = { manifest: found.manifestKey, createdAt: found.createdAt, ...facts, recoverySeconds, ...objective };
    if (target.maxRtoSeconds !== undefined && recoverySeconds > target.maxRtoSeconds) {
      return {
        ok: false,
        ...report,
        reason: `the restore took ${recoverySeconds} s, over the recovery time objective of ${target.maxRtoSeconds} s`,
      };
    }
    return { ok: true, ...report };
  } catch (error) {
    return {
      ok: false,
      ...(found ? { manifest: found.manifestKey, createdAt: found.createdAt } : {}),
      ...objective,
      reason: reasonOf(error),
    };
  }
}

/**
 * Runs `work`, then `remove` whatever its outcome: a drill leaves nothing behind, and says so when it could not,
 * beside the reason it failed, if it did.
 */
export async function removedAfter<T>(
  what: string,
  work: () => Promise<T>,
  remove: () => Promise<unknown>,
): Promise<T> {
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await work() };
  } catch (error) {
    outcome = { error };
  }
  try {
    await remove();
  } catch (error) {
    const left = `${what} was not removed: ${reasonOf(error)}`;
    throw new SlipwayError(
      'DRILL_NOT_CLEANED_UP',
      500,
      'error' in outcome ? `${reasonOf(outcome.error)}; ${left}` : left,
      {
        cause: error,
      },
    );
  }
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/** Regular files and their bytes in a tree, as they are on disk. */
async function countFiles(root: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const path of await readdir(root, { recursive: true })) {
    const stats = await lstat(join(root, path));
    if (!stats.isFile()) continue;
    files += 1;
    bytes += stats.size;
  }
  return { files, bytes };
}

/** The scratch root: the given directory when it is new or empty (made, then removed, when new), else the temp dir. */
async function scratchRoot(dir: string | undefined): Promise<{ root: string; made: boolean }> {
  if (dir === undefined) return { root: tmpdir(), made: false };
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(root, { recursive: true });
    return { root, made: true };
  }
  // Never into a directory that holds anything: a mistyped path could be live data.
  if (entries.length > 0) {
    throw new Conflict(`scratch directory ${root} is not empty: a drill restores only into a new or empty directory`);
  }
  return { root, made: false };
}

/** The newest volume archive restored into scratch, its files counted on disk against the manifest, then removed. */
export function drillVolume(
  target: DrillTarget & { dir?: string; onProgress?: (progress: VolumeProgress) => void },
): Promise<DrillReport> {
  return drill('volume', target, async (backup, stopwatch) => {
    const { root, made } = await scratchRoot(target.dir);
    const work = await mkdtemp(join(root, 'slipway-drill-'));
    const scratch = made ? root : work;
    return removedAfter(
      `the scratch directory ${scratch}`,
      async () => {
        const restored = await restoreVolume({
          s3: target.s3,
          bucket: target.bucket,
          manifestKey: backup.manifestKey,
          target: join(work, 'restored'),
          ...(target.onProgress ? { onProgress: target.onProgress } : {}),
        });
        const { trailer } = await fetchManifest(
          target.s3,
          target.bucket,
          backup.manifestKey,
          join(work, 'manifest.ndjson'),
        );
        const onDisk = await countFiles(restored.target);
        for (const [what, counted] of [
          ['the restore', restored],
          ['the scratch directory', onDisk],
        ] as const) {
          if (counted.files !== trailer.files || counted.bytes !== trailer.bytes) {
            throw new RestoreVerificationFailed(
              `${what} holds ${counted.files} files of ${counted.bytes} bytes, the manifest lists ${trailer.files} files of ${trailer.bytes} bytes`,
            );
          }
        }
        return {
          facts: { files: onDisk.files, bytes: onDisk.bytes, archiveBytes: trailer.archiveBytes, scratch: work },
          recoverySeconds: stopwatch(),
        };
      },
      () => rm(scratch, { recursive: true, force: true }),
    );
  });
}

/** A name no one else's database has: the drill drops it afterwards. */
export const drillDatabaseName = (at: Date) =>
  `slipway_drill_${backupTimestamp(at).toLowerCase()}_${randomBytes(3).toString('hex')}`;

/**
 * The newest dump restored into a new database on the server `connection` reaches (its own database is left alone),
 * its catalog queried, then the database dropped.
 */
export function drillPostgres(
  target: DrillTarget & { connection: PgConnection; binDir?: string; now?: () => Date },
): Promise<DrillReport> {
  return drill('postgres', target, async (backup, stopwatch) => {
    const { connection, binDir } = target;
    const database = drillDatabaseName((target.now ?? (() => new Date()))());
    const scratch = { ...connection, dbname: database };
    return removedAfter(
      `the scratch database ${database}`,
      async () => {
        const restored = await restorePostgres({
          connection: scratch,
          s3: target.s3,
          bucket: target.bucket,
          manifestKey: backup.manifestKey,
          ...(binDir ? { binDir } : {}),
        });
        const relations = await countRelations(scratch, {
          binDir,
          failure: RestoreFailed,
          what: `reading the catalog of ${label(scratch)}`,
        });
        return { facts: { database, bytes: restored.bytes, relations }, recoverySeconds: stopwatch() };
      },
      () => dropDatabase(connection, database, binDir),
    );
  });
}
