import { createHash } from 'node:crypto';
import {
  close as closeCallback,
  createReadStream,
  createWriteStream,
  fchmod as fchmodCallback,
  fchown as fchownCallback,
  constants as fsConstants,
  fstat as fstatCallback,
  futimes as futimesCallback,
  open as openCallback,
  read as readCallback,
  type Stats,
  type WriteStream,
  write as writeCallback,
} from 'node:fs';
import { lchown, lstat, lutimes, mkdir, mkdtemp, opendir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type Header as TarHeader, extract as tarExtract, pack as tarPack } from 'tar-stream';
import { z } from 'zod';
import { Conflict, InvalidInput, SlipwayError, UpstreamFailed } from '../errors';
import { type HeldDirectory, openInside, removeInside } from './held-directory';

/**
 * Volume backups: a directory tree streamed into S3 as one compressed tar beside an NDJSON
 * manifest, and restores that check every byte against that manifest before the target is
 * touched. Memory stays bounded whatever the tree: the tree is walked lazily, files are read in
 * chunks, the manifest goes through a temp file, and the tar is never held whole.
 */

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

export class RestoreVerificationFailed extends SlipwayError {
  constructor(message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) {
    super('RESTORE_VERIFICATION_FAILED', 422, message, options);
  }
}

export const VOLUME_MANIFEST_FORMAT = 'slipway-volume-manifest/1';

const MiB = 1024 * 1024;
const MIN_PART_SIZE = 8 * MiB;
// S3's ceiling for one part; a tree needing more would be over 40 TiB.
const MAX_PART_SIZE = 5 * 1024 * MiB;
// S3 allows 10,000 parts; sizing for 9,000 leaves room for files that grow between the two walks.
const PART_BUDGET = 9_000;
// Two parts in flight keep the upload ahead of one compressor; each more is a part size of RSS.
const QUEUE_SIZE = 2;
// Large reads and large zlib chunks: every chunk is a thread-pool round trip, and a round trip
// waits for the main thread, so fewer of them keep the compressor busy.
const READ_CHUNK = MiB;
const CODEC_CHUNK = MiB;
// Files up to this size are read (backup) or written (restore) whole, several at a time: on small
// files the cost is fs round trips, not bytes, and doing them one after another leaves the CPU idle.
const SMALL_FILE = 256 * 1024;
const FILES_IN_FLIGHT = 32;
const LSTAT_BATCH = 64;
const COMPRESSOR_BATCH = MiB;
// Lets the walk read ahead while the compressor works through a large file, and the reverse.
const METER_BUFFER = 4 * MiB;
const GZIP_LEVEL = 6;
const LISTED_PATHS = 100;
// How far the tree walk may run ahead of the compressor; headers alone add no backpressure in tar-stream.
const MAX_AHEAD = 4 * MiB;
const TAR_BLOCK = 512;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const runningAsRoot = () => process.getuid?.() === 0;

// ---------------------------------------------------------------------------------------------
// Names, keys and sizes: pure functions of plain data

/** 2026-11-22T03:00:00.123Z → 20261122T030000Z: sortable, and safe in any S3 key. */
export function volumeTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

export function volumeKeys(prefix: string, date: Date, compression: VolumeCompression) {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  const base = `${trimmed ? `${trimmed}/` : ''}${volumeTimestamp(date)}`;
  return {
    archiveKey: `${base}.tar.${compression === 'gzip' ? 'gz' : 'zst'}`,
    manifestKey: `${base}.manifest.ndjson`,
  };
}

/**
 * The archive's compressed size is unknown until it has been uploaded, but S3 fixes the part size
 * at the first part and refuses a 10,001st. Neither gzip nor zstd grows incompressible data by more
 * than a fraction of a percent, so the uncompressed tree bounds the archive: the file bytes plus 5%
 * for files growing between the sizing walk and the archive walk, 1 KiB per entry for its header
 * and padding (PAX entries take more, but headers compress to almost nothing), and 1 MiB for the
 * end of the archive. Dividing by 9,000 rather than 10,000 leaves further room.
 */
export function volumePartSize(totalBytes: number, entries: number): number {
  const bound = totalBytes * 1.05 + entries * 1024 + MiB;
  const partSize = Math.max(MIN_PART_SIZE, Math.ceil(bound / PART_BUDGET));
  if (partSize > MAX_PART_SIZE) {
    throw new InvalidInput(`a tree of ${totalBytes} bytes needs parts over S3's 5 GiB limit; split the volume`);
  }
  return partSize;
}

// ---------------------------------------------------------------------------------------------
// Manifest lines

const metadata = {
  path: z.string().min(1),
  mode: z.number().int().nonnegative(),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
  mtime: z.iso.datetime(),
};
const entrySchema = z.discriminatedUnion('type', [
  z.object({
    ...metadata,
    type: z.literal('file'),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(SHA256_HEX),
    inconsistent: z.literal(true).optional(),
  }),
  z.object({ ...metadata, type: z.literal('directory'), size: z.literal(0) }),
  z.object({ ...metadata, type: z.literal('symlink'), size: z.literal(0), linkTarget: z.string().min(1) }),
  z.object({
    path: z.string().min(1),
    type: z.literal('skipped'),
    reason: z.enum(['socket', 'fifo', 'character-device', 'block-device', 'vanished']),
  }),
]);
const headerSchema = z.object({
  format: z.literal(VOLUME_MANIFEST_FORMAT),
  createdAt: z.iso.datetime(),
  dir: z.string(),
  compression: z.enum(['gzip', 'zstd']),
  archiveKey: z.string().min(1),
});
const trailerSchema = z.object({
  archiveSha256: z.string().regex(SHA256_HEX),
  archiveBytes: z.number().int().positive(),
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  consistent: z.boolean(),
  inconsistentCount: z.number().int().nonnegative(),
  skippedCount: z.number().int().nonnegative(),
});

export type VolumeManifestEntry = z.infer<typeof entrySchema>;
export type VolumeManifestHeader = z.infer<typeof headerSchema>;
export type VolumeManifestTrailer = z.infer<typeof trailerSchema>;
type ArchivedEntry = Exclude<VolumeManifestEntry, { type: 'skipped' }>;

// ---------------------------------------------------------------------------------------------
// Compression: zstd only where this Node has it

type CodecFactory = (options?: zlib.ZlibOptions) => Transform;
const zstd = zlib as unknown as { createZstdCompress?: CodecFactory; createZstdDecompress?: CodecFactory };
const ZSTD_MISSING = 'zstd needs Node 22.15 or later; use gzip';

function compressorFor(compression: VolumeCompression): () => Transform {
  if (compression === 'gzip') return () => zlib.createGzip({ level: GZIP_LEVEL, chunkSize: CODEC_CHUNK });
  const create = zstd.createZstdCompress;
  if (!create) throw new InvalidInput(ZSTD_MISSING);
  return () => create({ chunkSize: CODEC_CHUNK });
}

function decompressorFor(compression: VolumeCompression): () => Transform {
  if (compression === 'gzip') return () => zlib.createGunzip({ chunkSize: CODEC_CHUNK });
  const create = zstd.createZstdDecompress;
  if (!create) throw new InvalidInput(ZSTD_MISSING);
  return () => create({ chunkSize: CODEC_CHUNK });
}

// ---------------------------------------------------------------------------------------------
// Small stream helpers

// Plain descriptors rather than FileHandles: a FileHandle costs as much again per file, which
// dominates on trees of small files.
const fd = {
  open: promisify(openCallback),
  fstat: promisify(fstatCallback),
  read: promisify(readCallback),
  write: promisify(writeCallback),
  fchown: promisify(fchownCallback),
  fchmod: promisify(fchmodCallback),
  futimes: promisify(futimesCallback),
  close: promisify(closeCallback),
};

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;
const isMissing = (error: unknown) => errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR';
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

// Node streams and tar-stream's streamx ones share this much.
interface Emitter {
  destroyed?: boolean;
  errored?: unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Resolves on 'drain'; rejects if the stream fails or closes first, so no writer waits forever. */
function drained(target: object): Promise<void> {
  const stream = target as Emitter;
  if (stream.destroyed) return Promise.reject(stream.errored ?? new Error('stream closed before it drained'));
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (error: unknown) => settle(error);
    const onClose = () => settle(stream.errored ?? new Error('stream closed before it drained'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Counts the bytes tar-stream has emitted, so the walk can wait for the compressor to catch up, and
 * hands them on in batches: tar-stream emits every header and small file as its own chunk, and zlib
 * makes a thread-pool round trip per chunk written to it.
 */
class ArchiveMeter extends Transform {
  bytes = 0;
  private waiters: Array<{ target: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  private batch: Buffer[] = [];
  private batchBytes = 0;

  until(target: number): Promise<void> {
    if (this.bytes >= target) return Promise.resolve();
    if (this.destroyed) return Promise.reject(this.errored ?? new Error('archive stream closed'));
    return new Promise((resolve, reject) => this.waiters.push({ target, resolve, reject }));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.bytes += chunk.byteLength;
    this.waiters = this.waiters.filter((waiter) => {
      if (this.bytes < waiter.target) return true;
      waiter.resolve();
      return false;
    });
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
    if (this.batchBytes >= COMPRESSOR_BATCH) this.pushBatch();
    callback();
  }

  override _flush(callback: TransformCallback) {
    this.pushBatch();
    callback();
  }

  private pushBatch() {
    if (this.batchBytes === 0) return;
    this.push(this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch, this.batchBytes));
    this.batch = [];
    this.batchBytes = 0;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
    for (const waiter of this.waiters) waiter.reject(error ?? new Error('archive stream closed'));
    this.waiters = [];
    callback(error);
  }
}

/** SHA-256 and byte count of what passes through: the compressed archive, as S3 receives it. */
class Digest extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
    callback(null, chunk);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/** An NDJSON temp file written with backpressure, so a million-entry manifest never sits in memory. */
class NdjsonFile {
  private readonly stream: WriteStream;
  private failure: unknown;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    this.stream.on('error', (error) => {
      this.failure = error;
    });
  }

  async write(value: unknown): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(`${JSON.stringify(value)}\n`)) await drained(this.stream);
  }

  async close(): Promise<void> {
    this.stream.end();
    await finished(this.stream);
  }

  discard(): void {
    this.stream.destroy();
  }
}

async function uploadStream(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Readable,
  contentType: string,
  partSize: number,
) {
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
    queueSize: QUEUE_SIZE,
    partSize,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } catch (error) {
    throw new UpstreamFailed(`uploading s3://${bucket}/${key} failed: ${messageOf(error)}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// The tree walk: depth first, each directory sorted; only the directories being walked are listed in memory

/**
 * One entry of the walk. `stats` is the entry's lstat; the archive walk leaves it out for regular
 * files, whose fstat after opening is what counts, and an lstat more per file is measurable.
 */
type TreeItem =
  | { path: string; abs: string; kind: 'stat'; stats: Stats }
  | { path: string; abs: string; kind: 'file' }
  | { path: string; abs: string; kind: 'vanished' };

interface Listed {
  name: string;
  file: boolean;
}

async function sortedEntries(dir: string): Promise<Listed[]> {
  let handle: Awaited<ReturnType<typeof opendir>>;
  try {
    handle = await opendir(dir, { bufferSize: 128 });
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const listed: Listed[] = [];
  for await (const dirent of handle) listed.push({ name: dirent.name, file: dirent.isFile() });
  return listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function lstatIfPresent(abs: string): Promise<Stats | undefined> {
  try {
    return await lstat(abs);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function* walkChildren(abs: string, path: string, statFiles: boolean): AsyncGenerator<TreeItem> {
  const listed = await sortedEntries(abs);
  for (let start = 0; start < listed.length; start += LSTAT_BATCH) {
    const batch = listed.slice(start, start + LSTAT_BATCH).map(({ name, file }) => ({
      path: path === '.' ? name : `${path}/${name}`,
      abs: join(abs, name),
      file,
    }));
    const stats = await Promise.all(
      batch.map((item) => (item.file && !statFiles ? undefined : lstatIfPresent(item.abs))),
    );
    for (const [index, { path: itemPath, abs: itemAbs, file }] of batch.entries()) {
      const itemStats = stats[index];
      if (itemStats) yield { path: itemPath, abs: itemAbs, kind: 'stat', stats: itemStats };
      else yield { path: itemPath, abs: itemAbs, kind: file && !statFiles ? 'file' : 'vanished' };
      if (itemStats?.isDirectory()) yield* walkChildren(itemAbs, itemPath, statFiles);
    }
  }
}

/** Maps items ahead of the consumer, at most `width` at once, and yields the results in order. */
async function* lookahead<T, U>(source: AsyncIterable<T>, map: (item: T) => Promise<U>, width: number) {
  const queue: Array<Promise<U>> = [];
  for await (const item of source) {
    const mapped = map(item);
    // Rejections surface when the result is yielded; until then they must not count as unhandled.
    mapped.catch(() => undefined);
    queue.push(mapped);
    if (queue.length >= width) yield await (queue.shift() as Promise<U>);
  }
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) yield await next;
}

async function* walkTree(root: string, rootStats: Stats, statFiles: boolean): AsyncGenerator<TreeItem> {
  yield { path: '.', abs: root, kind: 'stat', stats: rootStats };
  yield* walkChildren(root, '.', statFiles);
}

function skipReason(stats: Stats): SkipReason | undefined {
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'character-device';
  if (stats.isBlockDevice()) return 'block-device';
  return undefined;
}

/** The first walk: only sizes, to choose a part size before the first byte is uploaded. */
async function measureTree(root: string, rootStats: Stats): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  for await (const item of walkTree(root, rootStats, true)) {
    entries += 1;
    if (item.kind === 'stat' && item.stats.isFile()) bytes += item.stats.size;
  }
  return { entries, bytes };
}

// ---------------------------------------------------------------------------------------------
// Backup

const tarName = (path: string, type: ArchivedEntry['type']) =>
  type === 'directory' ? (path === '.' ? './' : `${path}/`) : path;
const padding = (size: number) => (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;

function entryMetadata(path: string, stats: Stats) {
  return {
    path,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtime: new Date(stats.mtimeMs).toISOString(),
  };
}

type TarEntryHeader = Partial<TarHeader> & Pick<TarHeader, 'name'>;

// tar-stream truncates mtimes to a signed 32-bit count of seconds; the manifest keeps the real one.
const TAR_MTIME_MAX_MS = 0x7fffffff * 1000;

function tarHeader(entry: ArchivedEntry): TarEntryHeader {
  return {
    name: tarName(entry.path, entry.type),
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime: new Date(Math.min(Math.max(Date.parse(entry.mtime), 0), TAR_MTIME_MAX_MS)),
    size: entry.size,
    ...(entry.type === 'symlink' ? { linkname: entry.linkTarget } : {}),
  };
}

interface BackupTally {
  files: number;
  bytes: number;
  inconsistent: string[];
  inconsistentCount: number;
  skipped: Array<{ path: string; reason: SkipReason }>;
  skippedCount: number;
  vanishedCount: number;
}

type FileEntry = Extract<ArchivedEntry, { type: 'file' }>;

/** A tree entry made ready for the archive ahead of its turn. */
type Prepared =
  | { kind: 'skip'; path: string; reason: SkipReason }
  | { kind: 'void'; entry: Exclude<ArchivedEntry, { type: 'file' }> }
  | { kind: 'small'; entry: FileEntry; data: Buffer }
  | { kind: 'large'; path: string; abs: string };

async function openForReading(abs: string): Promise<number | undefined> {
  try {
    // O_NOFOLLOW: a file swapped for a symlink since the lstat must not be followed out of the tree;
    // O_NONBLOCK: one swapped for a fifo must not hang the backup in open().
    return await fd.open(abs, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (error) {
    if (isMissing(error) || errorCode(error) === 'ELOOP') return undefined;
    throw error;
  }
}

const changedWhileRead = (before: Stats, after: Stats, shortBy: number) =>
  shortBy > 0 || after.size !== before.size || after.mtimeMs !== before.mtimeMs;

/** Directories, symlinks and whatever the archive skips, from the walk's lstat. */
async function prepareOther(path: string, abs: string, stats: Stats): Promise<Prepared> {
  if (stats.isDirectory())
    return { kind: 'void', entry: { ...entryMetadata(path, stats), type: 'directory', size: 0 } };
  if (stats.isSymbolicLink()) {
    try {
      const linkTarget = await readlink(abs);
      return { kind: 'void', entry: { ...entryMetadata(path, stats), type: 'symlink', size: 0, linkTarget } };
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'EINVAL') return { kind: 'skip', path, reason: 'vanished' };
      throw error;
    }
  }
  // Regular files reach here only when the listing did not know the type.
  if (stats.isFile()) return prepareFile(path, abs);
  return { kind: 'skip', path, reason: skipReason(stats) ?? 'vanished' };
}

/** Small files are read whole here, with a stat on either side, several at once. */
async function prepareFile(path: string, abs: string): Promise<Prepared> {
  const descriptor = await openForReading(abs);
  if (descriptor === undefined) return { kind: 'skip', path, reason: 'vanished' };
  try {
    // fstat, not an lstat by path: the size declared in the tar header must be this inode's.
    const before = await fd.fstat(descriptor);
    if (!before.isFile()) return { kind: 'skip', path, reason: skipReason(before) ?? 'vanished' };
    if (before.size > SMALL_FILE) return { kind: 'large', path, abs };
    // Zero-filled, so a file that shrank mid-read still fills the size its header declares.
    const data = Buffer.alloc(before.size);
    let position = 0;
    while (position < data.byteLength) {
      const { bytesRead } = await fd.read(descriptor, data, position, data.byteLength - position, position);
      if (bytesRead === 0) break;
      position += bytesRead;
    }
    const after = await fd.fstat(descriptor);
    const entry: FileEntry = {
      ...entryMetadata(path, before),
      type: 'file',
      size: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'),
      ...(changedWhileRead(before, after, data.byteLength - position) ? { inconsistent: true as const } : {}),
    };
    return { kind: 'small', entry, data };
  } finally {
    await fd.close(descriptor);
  }
}

async function prepare(item: TreeItem): Promise<Prepared> {
  if (item.kind === 'vanished') return { kind: 'skip', path: item.path, reason: 'vanished' };
  if (item.kind === 'file') return prepareFile(item.path, item.abs);
  return prepareOther(item.path, item.abs, item.stats);
}

class ArchiveWriter {
  private readonly tally: BackupTally = {
    files: 0,
    bytes: 0,
    inconsistent: [],
    inconsistentCount: 0,
    skipped: [],
    skippedCount: 0,
    vanishedCount: 0,
  };
  /** A lower bound of the bytes tar-stream will emit for the entries added so far. */
  private produced = 0;
  private failure: Error | undefined;

  constructor(
    private readonly pack: ReturnType<typeof tarPack>,
    private readonly meter: ArchiveMeter,
    private readonly manifest: NdjsonFile,
    private readonly onProgress: ((progress: VolumeProgress) => void) | undefined,
  ) {}

  async writeTree(root: string, rootStats: Stats): Promise<BackupTally> {
    for await (const prepared of lookahead(walkTree(root, rootStats, false), prepare, FILES_IN_FLIGHT)) {
      if (this.failure) throw this.failure;
      await this.write(prepared);
      // tar-stream queues whole entries without backpressure; the meter is what keeps the walk in step.
      await this.meter.until(this.produced - MAX_AHEAD);
    }
    if (this.failure) throw this.failure;
    this.pack.finalize();
    return this.tally;
  }

  private async write(prepared: Prepared): Promise<void> {
    switch (prepared.kind) {
      case 'skip':
        this.tally.skippedCount += 1;
        if (prepared.reason === 'vanished') this.tally.vanishedCount += 1;
        if (this.tally.skipped.length < LISTED_PATHS) {
          this.tally.skipped.push({ path: prepared.path, reason: prepared.reason });
        }
        return this.manifest.write({ path: prepared.path, type: 'skipped', reason: prepared.reason });
      case 'void':
        this.entry(tarHeader(prepared.entry));
        this.produced += TAR_BLOCK;
        return this.manifest.write(prepared.entry);
      case 'small':
        this.entry(tarHeader(prepared.entry), prepared.data);
        return this.fileWritten(prepared.entry);
      case 'large':
        return this.writeLargeFile(prepared.path, prepared.abs);
    }
  }

  /** Adds an entry; tar-stream writes entries strictly in the order they were added. */
  private entry(header: TarEntryHeader, data?: Buffer) {
    let settle: (error?: Error | null) => void = () => undefined;
    const added = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    const onAdded = (error?: Error | null) => {
      if (error) this.failure ??= error;
      settle(error);
    };
    // Failures are also kept in `failure`, so an entry nobody awaits cannot fail unnoticed.
    added.catch(() => undefined);
    const sink = data ? this.pack.entry(header, data, onAdded) : this.pack.entry(header, onAdded);
    // The entry callback carries the same error; without a listener the sink's 'error' would crash the process.
    sink.on('error', () => undefined);
    return { sink, added };
  }

  private async fileWritten(entry: FileEntry): Promise<void> {
    this.produced += TAR_BLOCK + entry.size + padding(entry.size);
    this.tally.files += 1;
    this.tally.bytes += entry.size;
    if (entry.inconsistent) {
      this.tally.inconsistentCount += 1;
      if (this.tally.inconsistent.length < LISTED_PATHS) this.tally.inconsistent.push(entry.path);
    }
    await this.manifest.write(entry);
    this.onProgress?.({ files: this.tally.files, bytes: this.tally.bytes });
  }

  /** Larger files are streamed in chunks, in turn, so no more than a chunk of one is in memory. */
  private async writeLargeFile(path: string, abs: string): Promise<void> {
    const descriptor = await openForReading(abs);
    if (descriptor === undefined) return this.write({ kind: 'skip', path, reason: 'vanished' });
    try {
      const before = await fd.fstat(descriptor);
      if (!before.isFile()) return this.write({ kind: 'skip', path, reason: 'vanished' });
      const size = before.size;
      const base = { ...entryMetadata(path, before), type: 'file' as const, size };
      const { sink, added } = this.entry(tarHeader({ ...base, sha256: '' }));
      const hash = createHash('sha256');
      let position = 0;
      while (position < size) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - position));
        const { bytesRead } = await fd.read(descriptor, buffer, 0, buffer.byteLength, position);
        if (bytesRead === 0) break;
        const chunk = bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead);
        hash.update(chunk);
        position += bytesRead;
        if (!sink.write(chunk)) await drained(sink);
        this.onProgress?.({ files: this.tally.files, bytes: this.tally.bytes + position });
      }
      const shortBy = size - position;
      // The header promised `size` bytes; zeros keep the tar readable when the file shrank mid-read.
      while (position < size) {
        const zeros = Buffer.alloc(Math.min(READ_CHUNK, size - position));
        hash.update(zeros);
        position += zeros.byteLength;
        if (!sink.write(zeros)) await drained(sink);
      }
      sink.end(undefined);
      await added;
      const after = await fd.fstat(descriptor);
      await this.fileWritten({
        ...base,
        sha256: hash.digest('hex'),
        ...(changedWhileRead(before, after, shortBy) ? { inconsistent: true as const } : {}),
      });
    } finally {
      await fd.close(descriptor);
    }
  }
}

async function refuseOverwrite(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error as Error).name === 'NotFound') return;
    throw new UpstreamFailed(`checking s3://${bucket}/${key} failed: ${messageOf(error)}`, { cause: error });
  }
  throw new Conflict(`s3://${bucket}/${key} already exists: a backup with this timestamp was already taken`);
}

export async function backupVolume(options: BackupVolumeOptions): Promise<VolumeBackupResult> {
  const started = performance.now();
  const compression = options.compression ?? 'gzip';
  const makeCompressor = compressorFor(compression);
  const dir = resolve(options.dir);
  let rootStats: Stats;
  try {
    // stat, not lstat: a volume is often mounted through a symlinked path.
    rootStats = await stat(dir);
  } catch (error) {
    if (isMissing(error)) throw new InvalidInput(`volume directory ${dir} does not exist`, { cause: error });
    throw error;
  }
  if (!rootStats.isDirectory()) throw new InvalidInput(`volume directory ${dir} is not a directory`);

  const createdAt = (options.now ?? (() => new Date()))();
  const { archiveKey, manifestKey } = volumeKeys(options.prefix, createdAt, compression);
  // Only the manifest marks a finished backup; an archive alone is a failed run's orphan and may be replaced.
  await refuseOverwrite(options.s3, options.bucket, manifestKey);

  const size = await measureTree(dir, rootStats);
  const partSize = volumePartSize(size.bytes, size.entries);
  const spool = await mkdtemp(join(tmpdir(), 'slipway-volume-'));
  const manifest = new NdjsonFile(join(spool, 'manifest.ndjson'));
  try {
    await manifest.write({
      format: VOLUME_MANIFEST_FORMAT,
      createdAt: createdAt.toISOString(),
      dir,
      compression,
      archiveKey,
    } satisfies VolumeManifestHeader);

    const pack = tarPack();
    const meter = new ArchiveMeter({ highWaterMark: METER_BUFFER });
    const digest = new Digest();
    const writer = new ArchiveWriter(pack, meter, manifest, options.onProgress);
    const failures: unknown[] = [];
    const stop = (error: unknown) => {
      failures.push(error);
      const reason = error instanceof Error ? error : new Error(String(error));
      pack.destroy(reason);
      digest.destroy(reason);
    };
    let tally: BackupTally | undefined;
    await Promise.all([
      writer.writeTree(dir, rootStats).then((result) => {
        tally = result;
      }, stop),
      pipeline(
        async function* () {
          yield* pack;
        },
        meter,
        makeCompressor(),
        digest,
      ).catch(stop),
      uploadStream(
        options.s3,
        options.bucket,
        archiveKey,
        digest,
        compression === 'gzip' ? 'application/gzip' : 'application/zstd',
        partSize,
      ).catch(stop),
    ]);
    if (failures.length > 0 || !tally) throw failures[0];

    const archiveSha256 = digest.hex();
    const consistent = tally.inconsistentCount === 0 && tally.vanishedCount === 0;
    await manifest.write({
      archiveSha256,
      archiveBytes: digest.bytes,
      files: tally.files,
      bytes: tally.bytes,
      consistent,
      inconsistentCount: tally.inconsistentCount,
      skippedCount: tally.skippedCount,
    } satisfies VolumeManifestTrailer);
    await manifest.close();
    // After the archive is complete, so a manifest always points at a whole archive.
    await uploadStream(
      options.s3,
      options.bucket,
      manifestKey,
      createReadStream(manifest.path),
      'application/x-ndjson',
      MIN_PART_SIZE,
    );

    return {
      archiveKey,
      manifestKey,
      archiveBytes: digest.bytes,
      archiveSha256,
      files: tally.files,
      bytes: tally.bytes,
      consistent,
      inconsistent: tally.inconsistent,
      inconsistentCount: tally.inconsistentCount,
      skipped: tally.skipped,
      skippedCount: tally.skippedCount,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    manifest.discard();
    await rm(spool, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Restore

async function getObject(s3: S3Client, bucket: string, key: string, what: 'manifest' | 'archive') {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new Error('the response has no body');
    return { body: response.Body as Readable, length: response.ContentLength };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') {
      throw new RestoreVerificationFailed(`${what} ${key} is missing`, { details: { key }, cause: error });
    }
    throw new UpstreamFailed(`reading s3://${bucket}/${key} failed: ${messageOf(error)}`, { cause: error });
  }
}

interface ManifestSummary {
  header: VolumeManifestHeader;
  trailer: VolumeManifestTrailer;
  lines: number;
}

function parseLine<T>(schema: z.ZodType<T>, text: string, key: string, line: number, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RestoreVerificationFailed(`manifest ${key}: line ${line} is not JSON`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new RestoreVerificationFailed(`manifest ${key}: line ${line} is not a valid ${what}${where}`, {
      details: { key, line },
    });
  }
  return parsed.data;
}

function manifestLines(file: string) {
  const input = createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  return {
    lines,
    close: () => {
      lines.close();
      input.destroy();
    },
  };
}

/** A first pass: the header, the trailer, and every entry checked, before anything is written. */
async function summarizeManifest(file: string, key: string): Promise<ManifestSummary> {
  const { lines, close } = manifestLines(file);
  let count = 0;
  let header: VolumeManifestHeader | undefined;
  let previous: string | undefined;
  let files = 0;
  let bytes = 0;
  try {
    for await (const line of lines) {
      count += 1;
      if (count === 1) {
        header = parseLine(headerSchema, line, key, count, 'header');
        continue;
      }
      if (previous !== undefined) {
        const entry = parseLine(entrySchema, previous, key, count - 1, 'entry');
        if (entry.type === 'file') {
          files += 1;
          bytes += entry.size;
        }
      }
      previous = line;
    }
  } finally {
    close();
  }
  if (!header) throw new RestoreVerificationFailed(`manifest ${key} is empty`, { details: { key } });
  if (previous === undefined) {
    throw new RestoreVerificationFailed(`manifest ${key} is incomplete: it has no trailer`, { details: { key } });
  }
  const trailer = parseLine(trailerSchema, previous, key, count, 'trailer');
  if (trailer.files !== files || trailer.bytes !== bytes) {
    throw new RestoreVerificationFailed(
      `manifest ${key} lists ${files} files of ${bytes} bytes, its trailer says ${trailer.files} files of ${trailer.bytes} bytes`,
      { details: { key } },
    );
  }
  return { header, trailer, lines: count };
}

/** The second pass: archived entries in archive order, read in step with the tar. */
async function* manifestEntries(file: string, key: string, lineCount: number): AsyncGenerator<ArchivedEntry> {
  const { lines, close } = manifestLines(file);
  let count = 0;
  try {
    for await (const line of lines) {
      count += 1;
      if (count === 1) continue;
      if (count === lineCount) return;
      const entry = parseLine(entrySchema, line, key, count, 'entry');
      if (entry.type !== 'skipped') yield entry;
    }
  } finally {
    close();
  }
}

type TargetState = 'absent' | 'empty' | 'non-empty';

/** The API's name for the path under a volume, which a refusal of one of its components names. */
const TARGET_FIELD = 'targetPath';

/**
 * Where a restore lands: `name` inside the directory reached from `root` through `parents`. Under a
 * volume's root no component may be a symbolic link: a link planted in the volume could point into
 * another volume. Without a root the target is the caller's own path (the CLI's --dir, a drill's
 * scratch directory), whose parent is taken as it resolves.
 */
interface TargetPlace {
  root: string;
  parents: string[];
  name: string;
  rooted: boolean;
  /** The target's path, for messages and the result. */
  shown: string;
}

function targetPlace(target: string, root: string | undefined): TargetPlace {
  if (root === undefined)
    return { root: dirname(target), parents: [], name: basename(target), rooted: false, shown: target };
  const inside = relative(resolve(root), target);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new InvalidInput(`${TARGET_FIELD}: ${target} is not a directory inside the volume ${root}`);
  }
  const segments = inside.split(sep);
  return {
    root: resolve(root),
    parents: segments.slice(0, -1),
    name: segments.at(-1) as string,
    rooted: true,
    shown: target,
  };
}

function refuseComponent(place: TargetPlace) {
  return (component: string, found: 'symlink' | 'not-directory') =>
    place.rooted
      ? new InvalidInput(
          `${TARGET_FIELD}: component ${JSON.stringify(component)} is ${found === 'symlink' ? 'a symbolic link' : 'not a directory'}`,
          { details: [{ field: TARGET_FIELD, component, found }] },
        )
      : new InvalidInput(`target ${place.shown} exists and is not a directory`);
}

/** The directory the target is (to be) in, every component checked; undefined when it does not exist yet. */
function openTargetParent(place: TargetPlace, create: boolean): Promise<HeldDirectory | undefined> {
  return openInside(place.root, place.parents, { create, refuse: refuseComponent(place) });
}

async function inspectTarget(place: TargetPlace, parent: HeldDirectory): Promise<TargetState> {
  const found = await parent.entry(place.name);
  if (found.kind === 'absent') return 'absent';
  if (found.kind !== 'directory') throw refuseComponent(place)(place.name, found.kind);
  try {
    return (await found.dir.isEmpty()) ? 'empty' : 'non-empty';
  } finally {
    await found.dir.close();
  }
}

function safeEntryPath(name: string, key: string): string {
  const path = name === './' || name === '.' ? '.' : name.replace(/\/+$/, '');
  const parts = path.split('/');
  const unsafe =
    path.includes('\0') ||
    path.startsWith('/') ||
    (path !== '.' && parts.some((part) => part === '' || part === '.' || part === '..'));
  if (unsafe) throw new RestoreVerificationFailed(`archive ${key} has an unsafe entry name ${JSON.stringify(name)}`);
  return path;
}

interface OpenDirectory {
  path: string;
  /** Held open, so its children and its own metadata are written in it and never through a swapped path. */
  dir: HeldDirectory;
  entry: ArchivedEntry;
}

/** Runs up to `width` tasks at once; the first failure is kept and thrown to the next caller. */
class TaskPool {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly width: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.width) await Promise.race(this.running);
    this.throwIfFailed();
    const running: Promise<void> = task().then(
      () => {
        this.running.delete(running);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.running.delete(running);
      },
    );
    this.running.add(running);
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.throwIfFailed();
  }

  private throwIfFailed() {
    if (this.failure) throw this.failure.error;
  }
}

class Extraction {
  files = 0;
  bytes = 0;
  private readonly open: OpenDirectory[] = [];
  private readonly chown = runningAsRoot();
  private readonly tasks = new TaskPool(FILES_IN_FLIGHT);

  constructor(
    private readonly key: string,
    private readonly staging: HeldDirectory,
    private readonly expected: AsyncGenerator<ArchivedEntry>,
    private readonly onProgress: ((progress: VolumeProgress) => void) | undefined,
  ) {}

  private mismatch(message: string, details: Record<string, unknown>): RestoreVerificationFailed {
    return new RestoreVerificationFailed(`archive ${this.key}, ${message}`, { details: { key: this.key, ...details } });
  }

  async entry(header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const path = safeEntryPath(header.name, this.key);
    const next = await this.expected.next();
    if (next.done) {
      throw new RestoreVerificationFailed(`archive ${this.key} has an entry ${path} that the manifest does not list`, {
        details: { key: this.key, path },
      });
    }
    const expected = next.value;
    if (path === '.' && expected.type !== 'directory') {
      throw this.mismatch(`the root is a ${expected.type} in the manifest`, { path });
    }
    if (expected.path !== path) {
      throw new RestoreVerificationFailed(`archive ${this.key} has ${path} where the manifest lists ${expected.path}`, {
        details: { key: this.key, path, expected: expected.path },
      });
    }
    if (header.type !== expected.type) {
      throw this.mismatch(`${path}: type ${header.type}, the manifest says ${expected.type}`, { path });
    }
    if (((header.mode ?? 0) & 0o7777) !== expected.mode) {
      const octal = (mode: number) => mode.toString(8).padStart(4, '0');
      throw this.mismatch(`${path}: mode ${octal(header.mode ?? 0)}, the manifest says ${octal(expected.mode)}`, {
        path,
      });
    }
    if (path === '.') {
      if (this.open.length > 0) throw this.mismatch('the root directory appears twice', { path });
      this.open.push({ path, dir: this.staging, entry: expected });
      return;
    }
    const parent = await this.placeUnderParent(path);
    const name = posix.basename(path);
    const abs = parent.child(name);
    if (expected.type === 'directory') {
      await mkdir(abs, { mode: 0o700 });
      const made = await parent.entry(name);
      if (made.kind !== 'directory') {
        throw new Conflict(`${path} was replaced in the staging directory while the restore ran; nothing was replaced`);
      }
      this.open.push({ path, dir: made.dir, entry: expected });
      return;
    }
    if (expected.type === 'symlink') {
      const linkname = header.linkname ?? '';
      if (linkname !== expected.linkTarget) {
        throw this.mismatch(`symlink ${path}: target ${linkname}, the manifest says ${expected.linkTarget}`, { path });
      }
      return this.tasks.run(async () => {
        await symlink(expected.linkTarget, abs);
        if (this.chown) await lchown(abs, expected.uid, expected.gid);
        const mtime = new Date(expected.mtime);
        await lutimes(abs, mtime, mtime);
      });
    }
    if (header.size !== expected.size) {
      throw this.mismatch(`file ${path}: size ${header.size}, the manifest says ${expected.size}`, { path });
    }
    if (expected.size <= SMALL_FILE) return this.writeSmallFile(path, abs, body, expected);
    return this.writeLargeFile(path, abs, body, expected);
  }

  /** Closes the directories the entry is not inside; its parent must then be the innermost one open. */
  private async placeUnderParent(path: string): Promise<HeldDirectory> {
    const parent = posix.dirname(path);
    while (this.open.length > 0 && this.open[this.open.length - 1]?.path !== parent) await this.closeDirectory();
    const top = this.open[this.open.length - 1];
    if (!top) throw this.mismatch(`${path} is not inside the directory before it`, { path });
    return top.dir;
  }

  async closeAll(): Promise<void> {
    while (this.open.length > 0) await this.closeDirectory();
    await this.tasks.drain();
  }

  /** Lets running writes finish, so the staging directory is not removed under them, and lets go of what it holds. */
  async settle(): Promise<void> {
    await this.tasks.drain().catch(() => undefined);
    for (const { dir } of this.open.splice(0)) if (dir !== this.staging) await dir.close();
  }

  // A directory's mode and mtime are set once its last child is written: children change its mtime,
  // and a read-only mode would stop them being written.
  private async closeDirectory(): Promise<void> {
    const dir = this.open.pop();
    if (!dir) return;
    // Writes still running inside it would move its mtime again.
    await this.tasks.drain();
    try {
      if (this.chown) await dir.dir.chown(dir.entry.uid, dir.entry.gid);
      await dir.dir.chmod(dir.entry.mode);
      const mtime = new Date(dir.entry.mtime);
      await dir.dir.utimes(mtime, mtime);
    } finally {
      if (dir.dir !== this.staging) await dir.dir.close();
    }
  }

  private verify(path: string, written: number, sha256: string, expected: FileEntry): void {
    if (written !== expected.size) {
      throw this.mismatch(`file ${path}: size ${written}, the manifest says ${expected.size}`, { path });
    }
    if (sha256 !== expected.sha256) {
      throw this.mismatch(`file ${path}: SHA-256 is ${sha256}, the manifest says ${expected.sha256}`, {
        path,
        sha256,
        expected: expected.sha256,
      });
    }
  }

  private counted(size: number): void {
    this.files += 1;
    this.bytes += size;
    this.onProgress?.({ files: this.files, bytes: this.bytes });
  }

  /** Verified in memory first, then written by the pool while the archive reads on. */
  private async writeSmallFile(path: string, abs: string, body: AsyncIterable<Buffer>, expected: FileEntry) {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let written = 0;
    for await (const chunk of body) {
      hash.update(chunk);
      chunks.push(chunk);
      written += chunk.byteLength;
    }
    this.verify(path, written, hash.digest('hex'), expected);
    const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    this.counted(written);
    await this.tasks.run(async () => {
      // wx: never write through something already there, such as a symlink planted by an earlier entry.
      const descriptor = await fd.open(abs, 'wx', 0o600);
      try {
        for (let offset = 0; offset < data.byteLength; ) {
          offset += (await fd.write(descriptor, data, offset, data.byteLength - offset)).bytesWritten;
        }
        await this.applyFileMetadata(descriptor, expected);
      } finally {
        await fd.close(descriptor);
      }
    });
  }

  private async writeLargeFile(path: string, abs: string, body: AsyncIterable<Buffer>, expected: FileEntry) {
    const out = createWriteStream(abs, { flags: 'wx', mode: 0o600 });
    const hash = createHash('sha256');
    let written = 0;
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        written += chunk.byteLength;
        if (!out.write(chunk)) await drained(out);
        this.onProgress?.({ files: this.files, bytes: this.bytes + written });
      }
      out.end();
      await finished(out);
    } catch (error) {
      out.destroy();
      throw error;
    }
    this.verify(path, written, hash.digest('hex'), expected);
    // O_NOFOLLOW: the file written may have been swapped for a link since; its metadata is never set through one.
    const descriptor = await fd.open(abs, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    try {
      await this.applyFileMetadata(descriptor, expected);
    } finally {
      await fd.close(descriptor);
    }
    this.counted(written);
  }

  private async applyFileMetadata(descriptor: number, expected: FileEntry): Promise<void> {
    if (this.chown) await fd.fchown(descriptor, expected.uid, expected.gid);
    // After chown, which clears setuid and setgid bits.
    await fd.fchmod(descriptor, expected.mode);
    const mtime = new Date(expected.mtime);
    await fd.futimes(descriptor, mtime, mtime);
  }
}

const isFilesystemError = (error: unknown) => typeof (error as NodeJS.ErrnoException | undefined)?.syscall === 'string';

/** Decompression and tar errors mean a bad archive; anything else (a full disk) keeps its own type. */
function describeContentFailure(error: unknown, key: string): unknown {
  if (error instanceof SlipwayError) return error;
  const message = messageOf(error);
  const code = errorCode(error) ?? '';
  if (code === 'Z_BUF_ERROR' || message === 'unexpected end of file') {
    return new RestoreVerificationFailed(`archive ${key} ended early (unexpected end of file)`, {
      details: { key },
      cause: error,
    });
  }
  if (code.startsWith('Z_') || code.startsWith('ERR_ZSTD') || /zstd/i.test(message)) {
    return new RestoreVerificationFailed(`archive ${key} cannot be decompressed (${message})`, {
      details: { key },
      cause: error,
    });
  }
  if (!isFilesystemError(error)) {
    return new RestoreVerificationFailed(`archive ${key} is not a readable tar (${message})`, {
      details: { key },
      cause: error,
    });
  }
  return error;
}

function endedEarly(key: string, bytes: number, expected: number) {
  return new RestoreVerificationFailed(
    `archive ${key} ended early (unexpected end of file): ${bytes} bytes, the manifest says ${expected}`,
    { details: { key, bytes, expected } },
  );
}

async function extractArchive(
  options: RestoreVolumeOptions,
  manifestFile: string,
  summary: ManifestSummary,
  staging: HeldDirectory,
  makeDecompressor: () => Transform,
): Promise<Extraction> {
  const key = summary.header.archiveKey;
  const expectedBytes = summary.trailer.archiveBytes;
  const { body, length } = await getObject(options.s3, options.bucket, key, 'archive');
  if (length !== undefined && length !== expectedBytes) {
    body.destroy();
    if (length < expectedBytes) throw endedEarly(key, length, expectedBytes);
    throw new RestoreVerificationFailed(`archive ${key}: size ${length}, the manifest says ${expectedBytes}`, {
      details: { key },
    });
  }

  const expected = manifestEntries(manifestFile, options.manifestKey, summary.lines);
  const extraction = new Extraction(key, staging, expected, options.onProgress);
  const decompressor = makeDecompressor();
  const extract = tarExtract();
  const archiveHash = createHash('sha256');
  let archiveBytes = 0;
  let contentFailure: unknown;
  let downloadFailure: unknown;

  // The first failure is kept; later ones are its echoes through the rest of the pipeline.
  const fail = (error: unknown) => {
    if (contentFailure !== undefined) return;
    contentFailure = error;
    decompressor.destroy();
    extract.destroy();
  };
  decompressor.on('error', fail);
  extract.on('error', fail);

  let handling: Promise<void> = Promise.resolve();
  extract.on('entry', (header, stream, next) => {
    stream.on('error', () => undefined);
    handling = extraction.entry(header, stream as AsyncIterable<Buffer>).then(
      () => {
        stream.resume();
        next();
      },
      (error: unknown) => {
        fail(error);
        next(error instanceof Error ? error : new Error(messageOf(error)));
      },
    );
  });
  const extracted = new Promise<void>((resolveExtracted, rejectExtracted) => {
    let complete = false;
    extract.on('finish', () => {
      complete = true;
      resolveExtracted();
    });
    extract.on('close', () => {
      if (!complete) rejectExtracted(new Error('the tar stream stopped'));
    });
  });

  const inflating = (async () => {
    for await (const chunk of decompressor as AsyncIterable<Buffer>) {
      if (!extract.write(chunk)) await drained(extract);
    }
    extract.end(undefined);
  })();

  // The whole download is hashed even after a content failure: a damaged archive then explains it.
  const feeding = (async () => {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      archiveHash.update(chunk);
      archiveBytes += chunk.byteLength;
      if (contentFailure === undefined) {
        if (!decompressor.write(chunk)) await drained(decompressor).catch(fail);
      } else if (isFilesystemError(contentFailure)) {
        break;
      }
    }
    if (contentFailure === undefined) decompressor.end();
  })();

  try {
    await Promise.all([
      feeding.catch((error: unknown) => {
        downloadFailure = error;
        fail(error);
      }),
      inflating.catch(fail),
      extracted.then(() => handling).catch(fail),
    ]);
    await handling.catch(() => undefined);

    if (downloadFailure !== undefined) {
      throw new UpstreamFailed(`reading archive ${key} failed: ${messageOf(downloadFailure)}`, {
        cause: downloadFailure,
      });
    }
    if (contentFailure !== undefined && isFilesystemError(contentFailure)) throw contentFailure;
    if (archiveBytes < expectedBytes) throw endedEarly(key, archiveBytes, expectedBytes);
    if (archiveBytes !== expectedBytes) {
      throw new RestoreVerificationFailed(`archive ${key}: size ${archiveBytes}, the manifest says ${expectedBytes}`, {
        details: { key },
      });
    }
    const archiveSha256 = archiveHash.digest('hex');
    if (archiveSha256 !== summary.trailer.archiveSha256) {
      throw new RestoreVerificationFailed(
        `archive ${key}: SHA-256 is ${archiveSha256}, the manifest says ${summary.trailer.archiveSha256}`,
        { details: { key, sha256: archiveSha256, expected: summary.trailer.archiveSha256 } },
      );
    }
    if (contentFailure !== undefined) throw describeContentFailure(contentFailure, key);
    const missing = await expected.next();
    if (!missing.done) {
      throw new RestoreVerificationFailed(
        `archive ${key} ends without ${missing.value.type} ${missing.value.path}, which the manifest lists`,
        { details: { key, path: missing.value.path } },
      );
    }
    await extraction.closeAll();
    return extraction;
  } finally {
    body.destroy();
    await extraction.settle();
    await expected.return(undefined);
  }
}

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

const notEmpty = (place: TargetPlace) =>
  new Conflict(`target ${place.shown} is not empty; pass force to restore over existing files`);

/**
 * Renames the staged tree over the target, inside the parent the restore held open all along, once
 * the target's path is checked again: it must still lead, through no link, to that same parent, and
 * the staging directory must still be the one extracted into.
 */
async function moveIntoPlace(
  place: TargetPlace,
  parent: HeldDirectory,
  staging: { name: string; dir: HeldDirectory },
  force: boolean,
): Promise<void> {
  const again = await openTargetParent(place, false);
  try {
    if (!again || !(await again.sameAs(parent))) {
      throw new Conflict(`target ${place.shown}: its path changed while the restore ran; nothing was replaced`);
    }
  } finally {
    await again?.close();
  }
  const staged = await parent.entry(staging.name);
  const unchanged = staged.kind === 'directory' && (await staged.dir.sameAs(staging.dir));
  if (staged.kind === 'directory') await staged.dir.close();
  if (!unchanged) {
    throw new Conflict(
      `the staging directory ${staging.name} was replaced while the restore ran; nothing was replaced`,
    );
  }

  const state = await inspectTarget(place, parent);
  const target = parent.child(place.name);
  const stagingPath = parent.child(staging.name);
  if (state === 'absent' || (state === 'empty' && !force)) {
    // rename(2) replaces an empty directory in one step.
    await rename(stagingPath, target);
    return;
  }
  if (!force) throw notEmpty(place);
  const aside = `${place.name}.slipway-old-${Date.now()}`;
  await rename(target, parent.child(aside));
  try {
    await rename(stagingPath, target);
  } catch (error) {
    await rename(parent.child(aside), target);
    throw error;
  }
  await removeInside(parent, aside);
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
    const manifest = await getObject(options.s3, options.bucket, options.manifestKey, 'manifest');
    await downloadManifest(manifest.body, manifestFile, options.manifestKey);
    const summary = await summarizeManifest(manifestFile, options.manifestKey);
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
