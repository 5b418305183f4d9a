import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { Conflict, UpstreamFailed } from '../../errors';
import { type HeldDirectory, removeInside } from '../held-directory';
import { decompressorFor } from './codec';
import { extractArchive } from './extraction';
import { type ManifestSummary, summarizeManifest } from './manifest';
import { getObject, messageOf } from './streams';
import { inspectTarget, moveIntoPlace, notEmpty, openTargetParent, targetPlace } from './target';
import type { RestoreVolumeOptions, VolumeRestoreResult } from './types';

// Restore: the manifest checked whole, the archive extracted beside the target, then moved into place

/** Downloads the manifest to a temp file; a failure is S3's or the disk's, whichever failed first. */
async function downloadManifest(body: Readable, file: string, key: string): Promise<void> {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  let origin: 'download' | 'disk' | undefined;
  body.once('error', () => {
    origin ??= 'download';
  });
  out.once('error', () => {
    origin ??= 'disk';
  });
  try {
    await pipeline(body, out);
  } catch (error) {
    if (origin === 'disk') throw error;
    throw new UpstreamFailed(`reading manifest ${key} failed: ${messageOf(error)}`, { cause: error });
  }
}

/** The manifest downloaded into `file` (a new one) and checked whole: its header, every entry, its trailer. */
export async function fetchManifest(s3: S3Client, bucket: string, key: string, file: string): Promise<ManifestSummary> {
  const manifest = await getObject(s3, bucket, key, 'manifest');
  await downloadManifest(manifest.body, file, key);
  return summarizeManifest(file, key);
}

export async function restoreVolume(options: RestoreVolumeOptions): Promise<VolumeRestoreResult> {
  const started = performance.now();
  const target = resolve(options.target);
  const force = options.force ?? false;
  const place = targetPlace(target, options.root);
  const existing = await openTargetParent(place, false);
  try {
    if (existing && (await inspectTarget(place, existing)) === 'non-empty' && !force) throw notEmpty(place);
  } finally {
    await existing?.close();
  }

  const spool = await mkdtemp(join(tmpdir(), 'slipway-restore-manifest-'));
  let parent: HeldDirectory | undefined;
  // Named once made, held once opened; the name is cleared once it is the target.
  let stagingName: string | undefined;
  let stagingDir: HeldDirectory | undefined;
  try {
    const manifestFile = join(spool, 'manifest.ndjson');
    const summary = await fetchManifest(options.s3, options.bucket, options.manifestKey, manifestFile);
    const makeDecompressor = decompressorFor(summary.header.compression);

    if (!place.rooted) await mkdir(place.root, { recursive: true });
    parent = (await openTargetParent(place, true)) as HeldDirectory;
    // Beside the target, on the same filesystem, so the final rename is atomic.
    stagingName = basename(await mkdtemp(parent.child('.slipway-restore-')));
    const found = await parent.entry(stagingName);
    if (found.kind !== 'directory') {
      throw new Conflict(
        `the staging directory ${stagingName} was replaced as soon as it was made; nothing was replaced`,
      );
    }
    stagingDir = found.dir;
    const extraction = await extractArchive(options, manifestFile, summary, stagingDir, makeDecompressor);
    await moveIntoPlace(place, parent, { name: stagingName, dir: stagingDir }, force);
    stagingName = undefined;
    return {
      files: extraction.files,
      bytes: extraction.bytes,
      sqliteDatabases: extraction.sqliteDatabases,
      durationMs: Math.round(performance.now() - started),
      target,
    };
  } finally {
    await stagingDir?.close();
    if (parent && stagingName) await removeInside(parent, stagingName);
    await parent?.close();
    await rm(spool, { recursive: true, force: true });
  }
}
