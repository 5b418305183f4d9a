import { createHash } from 'node:crypto';
import { createReadStream, constants as fsConstants, type Stats } from 'node:fs';
import { mkdtemp, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type Header as TarHeader, pack as tarPack } from 'tar-stream';
import { Conflict, InvalidInput, UpstreamFailed } from '../../errors';
import { ownerParameters, writeParameters } from '../object-writes';
import { compressorFor } from './codec';
import { volumeKeys, volumePartSize } from './keys';
import {
  FILES_IN_FLIGHT,
  LISTED_PATHS,
  MAX_AHEAD,
  METER_BUFFER,
  MIN_PART_SIZE,
  READ_CHUNK,
  SMALL_FILE,
  TAR_BLOCK,
} from './limits';
import {
  type ArchivedEntry,
  type FileEntry,
  VOLUME_MANIFEST_FORMAT,
  type VolumeManifestHeader,
  type VolumeManifestTrailer,
} from './manifest';
import { SqliteTaker } from './sqlite';
import {
  ArchiveMeter,
  Digest,
  drained,
  errorCode,
  fd,
  isMissing,
  messageOf,
  NdjsonFile,
  uploadStream,
} from './streams';
import type { BackupVolumeOptions, SkipReason, VolumeBackupResult, VolumeProgress } from './types';
import { lookahead, measureTree, skipReason, type TreeItem, walkTree } from './walk';

// Backup: the tree walked once for its size, then again into a tar, compressed and uploaded as it is read

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
  sqliteDatabases: number;
}

/** A tree entry made ready for the archive ahead of its turn. */
type Prepared =
  | { kind: 'skip'; path: string; reason: SkipReason }
  | { kind: 'void'; entry: Exclude<ArchivedEntry, { type: 'file' }> }
  | { kind: 'small'; entry: FileEntry; data: Buffer }
  | { kind: 'large'; path: string; abs: string }
  | { kind: 'sqlite'; path: string; abs: string; glob: string };

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

async function prepare(item: TreeItem, databases: SqliteTaker | undefined): Promise<Prepared> {
  if (item.kind === 'vanished') return { kind: 'skip', path: item.path, reason: 'vanished' };
  const regular = item.kind === 'file' || item.stats.isFile();
  const role = regular && databases ? databases.roleOf(item.path) : undefined;
  // A database is taken when its turn to be written comes, so one copy at most is in scratch at a time.
  if (role?.kind === 'database') return { kind: 'sqlite', path: item.path, abs: item.abs, glob: role.glob };
  if (role?.kind === 'companion') return { kind: 'skip', path: item.path, reason: 'sqlite-companion' };
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
    sqliteDatabases: 0,
  };
  /** A lower bound of the bytes tar-stream will emit for the entries added so far. */
  private produced = 0;
  private failure: Error | undefined;

  constructor(
    private readonly pack: ReturnType<typeof tarPack>,
    private readonly meter: ArchiveMeter,
    private readonly manifest: NdjsonFile,
    private readonly onProgress: ((progress: VolumeProgress) => void) | undefined,
    private readonly databases: SqliteTaker | undefined,
  ) {}

  async writeTree(root: string, rootStats: Stats): Promise<BackupTally> {
    const prepareItem = (item: TreeItem) => prepare(item, this.databases);
    for await (const prepared of lookahead(walkTree(root, rootStats, false), prepareItem, FILES_IN_FLIGHT)) {
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
      case 'sqlite':
        return this.writeDatabase(prepared.path, prepared.abs, prepared.glob);
    }
  }

  /** The database's checked copy, archived under the database's own path and metadata; never its raw file. */
  private async writeDatabase(path: string, abs: string, glob: string): Promise<void> {
    const taken = await (this.databases as SqliteTaker).take(path, abs, glob);
    if (!taken) return this.write({ kind: 'skip', path, reason: 'vanished' });
    try {
      await this.writeLargeFile(path, taken.copy, taken.stats);
      this.tally.sqliteDatabases += 1;
    } finally {
      await rm(taken.copy, { force: true });
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

  /**
   * Larger files are streamed in chunks, in turn, so no more than a chunk of one is in memory. `database`: `abs` is
   * the checked copy of the SQLite database at `path`, whose own metadata the entry takes.
   */
  private async writeLargeFile(path: string, abs: string, database?: Stats): Promise<void> {
    const descriptor = await openForReading(abs);
    if (descriptor === undefined) return this.write({ kind: 'skip', path, reason: 'vanished' });
    try {
      const before = await fd.fstat(descriptor);
      if (!before.isFile()) return this.write({ kind: 'skip', path, reason: 'vanished' });
      const size = before.size;
      const base = {
        ...entryMetadata(path, database ?? before),
        type: 'file' as const,
        size,
        ...(database ? { sqlite: true as const } : {}),
      };
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

async function refuseOverwrite(s3: S3Client, bucket: string, key: string, owner: object): Promise<void> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...owner }));
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
  await refuseOverwrite(options.s3, options.bucket, manifestKey, ownerParameters(options.vault));

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
    const databases = options.sqlite?.length ? new SqliteTaker(options.sqlite, spool, options.sqlite3) : undefined;
    const writer = new ArchiveWriter(pack, meter, manifest, options.onProgress, databases);
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
        writeParameters(options.vault),
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
      writeParameters(options.vault),
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
      sqliteDatabases: tally.sqliteDatabases,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    manifest.discard();
    await rm(spool, { recursive: true, force: true });
  }
}
