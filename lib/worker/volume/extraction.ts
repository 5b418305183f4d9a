import { createHash } from 'node:crypto';
import { createWriteStream, constants as fsConstants } from 'node:fs';
import { lchown, lutimes, mkdir, symlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type Header as TarHeader, extract as tarExtract } from 'tar-stream';
import { Conflict, SlipwayError, UpstreamFailed } from '../../errors';
import type { HeldDirectory } from '../held-directory';
import { FILES_IN_FLIGHT, SMALL_FILE } from './limits';
import {
  type ArchivedEntry,
  type FileEntry,
  type ManifestSummary,
  manifestEntries,
  RestoreVerificationFailed,
} from './manifest';
import { integrityProblem } from './sqlite';
import { drained, errorCode, fd, getObject, messageOf } from './streams';
import type { RestoreVolumeOptions, VolumeProgress } from './types';

// Extraction: the archive read from S3, decompressed and untarred into a staging directory, every entry
// checked against the manifest as it comes

const runningAsRoot = () => process.getuid?.() === 0;

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
  sqliteDatabases = 0;
  private readonly open: OpenDirectory[] = [];
  private readonly chown = runningAsRoot();
  private readonly tasks = new TaskPool(FILES_IN_FLIGHT);

  constructor(
    private readonly key: string,
    private readonly staging: HeldDirectory,
    private readonly expected: AsyncGenerator<ArchivedEntry>,
    private readonly onProgress: ((progress: VolumeProgress) => void) | undefined,
    private readonly sqlite3: string,
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

  /** A database taken through SQLite must open and pass its own check once written, before its mode may forbid reading it. */
  private async checkDatabase(path: string, descriptor: number, expected: FileEntry): Promise<void> {
    if (!expected.sqlite) return;
    // Through the descriptor: the staging directory is held open, and its path is this process's own (/proc/self/fd).
    const problem = await integrityProblem(this.sqlite3, { descriptor });
    if (problem !== undefined) {
      throw this.mismatch(`SQLite database ${path} fails PRAGMA integrity_check: ${problem}`, { path });
    }
    this.sqliteDatabases += 1;
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
        await this.checkDatabase(path, descriptor, expected);
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
      await this.checkDatabase(path, descriptor, expected);
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

export async function extractArchive(
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
  const extraction = new Extraction(key, staging, expected, options.onProgress, options.sqlite3 ?? 'sqlite3');
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
