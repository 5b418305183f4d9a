import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/aws/clients/s3';
import { Conflict, InvalidInput } from '../../lib/errors';
import type { EmbeddedServer } from '../../lib/local/servers';
import {
  backupVolume,
  RestoreVerificationFailed,
  restoreVolume,
  type VolumeBackupResult,
  volumePartSize,
  volumeTimestamp,
} from '../../lib/worker/volume';
import { startBackupBucket, stopBackupBucket } from '../support/backup-bucket';
import { buildTree as buildTreeIn, type Spec, snapshot } from '../support/trees';

const run = promisify(execFile);
const BUCKET = 'slipway-test-backups';
const MiB = 1024 * 1024;
const NOW = new Date('2026-11-22T03:00:00Z');

let work: string;
let server: EmbeddedServer;
let s3: S3Client;
let prefixes = 0;

beforeAll(async () => {
  ({ work, server, s3 } = await startBackupBucket('slipway-volume-', BUCKET));
});

afterAll(() => stopBackupBucket({ work, server, s3 }));

// ---------------------------------------------------------------------------------------------
// Trees and their snapshots

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const buildTree = (specs: Spec[]) => buildTreeIn(work, specs);

const smallTree = () =>
  buildTree([
    { path: 'docs', directory: true, mode: 0o755 },
    { path: 'docs/a.txt', content: 'hello from docs\n', mode: 0o644 },
    { path: 'docs/b.txt', content: 'b'.repeat(5_000), mode: 0o600 },
    { path: 'empty', directory: true, mode: 0o700 },
    { path: 'run.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  ]);

function nextPrefix(): string {
  prefixes += 1;
  return `backups/volume-${prefixes}`;
}

async function objectBytes(key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function putBytes(key: string, body: Buffer | string) {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function manifestLines(key: string): Promise<Array<Record<string, unknown>>> {
  return (await objectBytes(key))
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function backup(dir: string, extra: Partial<Parameters<typeof backupVolume>[0]> = {}) {
  return backupVolume({ dir, s3, bucket: BUCKET, prefix: nextPrefix(), now: () => NOW, ...extra });
}

async function restore(backupResult: VolumeBackupResult, target: string, force?: boolean) {
  return restoreVolume({ s3, bucket: BUCKET, manifestKey: backupResult.manifestKey, target, force });
}

/** A client of its own that notes each command it sends, to see how an upload was split. */
function recordingClient(): { client: S3Client; commands: string[] } {
  const client = createS3Client({ AWS_ENDPOINT_URL_S3: server.endpoint, AWS_REGION: 'us-east-1' });
  const commands: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, commands };
}

async function leftovers(parent: string): Promise<string[]> {
  return (await readdir(parent)).filter((name) => name.includes('.slipway-'));
}

// ---------------------------------------------------------------------------------------------

describe('part size and keys', () => {
  it('keeps any tree under 10,000 parts and never below 8 MiB', () => {
    // Given trees from empty to 40 TiB
    for (const [bytes, entries] of [
      [0, 1],
      [10 * MiB, 50],
      [200 * 1024 * MiB, 3_000_000],
      [40 * 1024 * 1024 * MiB, 10_000_000],
    ] as const) {
      // When a part size is chosen
      const partSize = volumePartSize(bytes, entries);

      // Then it is at least 8 MiB and the worst-case archive fits in 9,000 parts
      expect(partSize).toBeGreaterThanOrEqual(8 * MiB);
      expect(Math.ceil((bytes * 1.05 + entries * 1024 + MiB) / partSize)).toBeLessThanOrEqual(9_000);
    }
    expect(volumePartSize(0, 1)).toBe(8 * MiB);
    expect(volumePartSize(100 * 1024 * MiB, 1_000)).toBe(
      Math.ceil((100 * 1024 * MiB * 1.05 + 1_024_000 + MiB) / 9_000),
    );
    expect(() => volumePartSize(50 * 1024 * 1024 * MiB, 1)).toThrow(InvalidInput);
  });

  it('names objects by the second, in UTC', () => {
    expect(volumeTimestamp(new Date('2026-11-22T03:00:00.789Z'))).toBe('20261122T030000Z');
  });
});

describe('backupVolume and restoreVolume against s3rver', () => {
  it('round-trips a tree byte for byte with modes, mtimes, symlinks, empty directories and unicode names', async () => {
    // Given a tree with every kind of entry the worker keeps, and one file larger than a part
    const big = randomBytes(9 * MiB);
    const source = await buildTree([
      { path: 'docs', directory: true, mode: 0o755 },
      { path: 'docs/nested', directory: true, mode: 0o750 },
      { path: 'docs/nested/deep', directory: true, mode: 0o700 },
      { path: 'docs/nested/deep/secret.txt', content: 'top secret\n', mode: 0o600 },
      { path: 'docs/a.txt', content: 'hello from docs\n', mode: 0o644 },
      { path: 'empty', directory: true, mode: 0o755 },
      { path: 'bin', directory: true, mode: 0o755 },
      { path: 'bin/run.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { path: 'zero.bin', content: '', mode: 0o644 },
      { path: 'big.bin', content: big, mode: 0o644 },
      { path: 'café', directory: true, mode: 0o755 },
      { path: 'café/é.txt', content: 'accent\n', mode: 0o644 },
      { path: '日本語.txt', content: 'こんにちは\n', mode: 0o644 },
      { path: '🚀 launch.txt', content: 'emoji\n', mode: 0o600 },
      { path: `long-${'x'.repeat(140)}.txt`, content: 'a name over 100 bytes\n', mode: 0o644 },
      { path: 'link-to-a', linkTo: 'docs/a.txt' },
      { path: 'dangling', linkTo: 'nowhere/missing.txt' },
      { path: 'link-é', linkTo: '日本語.txt' },
    ]);
    const before = await snapshot(source);
    const progress: Array<{ files: number; bytes: number }> = [];
    const { client, commands } = recordingClient();

    // When it is backed up and restored into a new directory
    const result = await backup(source, {
      s3: client,
      prefix: 'backups/shop-uploads',
      onProgress: (p) => progress.push(p),
    });
    client.destroy();
    const parent = await mkdtemp(join(work, 'restore-'));
    const target = join(parent, 'volume');
    const restored = await restore(result, target);

    // Then the restored tree is the source tree, entry for entry
    expect(await snapshot(target)).toEqual(before);
    expect(await leftovers(parent)).toEqual([]);
    const fileBytes = before.reduce((sum, node) => sum + (node.size ?? 0), 0);
    expect(result).toEqual({
      archiveKey: 'backups/shop-uploads/20261122T030000Z.tar.gz',
      manifestKey: 'backups/shop-uploads/20261122T030000Z.manifest.ndjson',
      archiveBytes: expect.any(Number),
      archiveSha256: sha256(await objectBytes('backups/shop-uploads/20261122T030000Z.tar.gz')),
      files: 9,
      bytes: fileBytes,
      consistent: true,
      inconsistent: [],
      inconsistentCount: 0,
      skipped: [],
      skippedCount: 0,
      sqliteDatabases: 0,
      durationMs: expect.any(Number),
    });
    expect(restored).toEqual({
      files: 9,
      bytes: fileBytes,
      sqliteDatabases: 0,
      durationMs: expect.any(Number),
      target,
    });
    expect(progress.at(-1)).toEqual({ files: 9, bytes: fileBytes });

    // And the archive crossed a part boundary, so it went up as a two-part multipart upload
    expect(result.archiveBytes).toBeGreaterThan(8 * MiB);
    expect(commands.filter((name) => name === 'UploadPartCommand')).toHaveLength(2);
    expect(commands).toContain('CompleteMultipartUploadCommand');
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: result.archiveKey }));
    expect(head.ContentLength).toBe(result.archiveBytes);

    // And the manifest is a header, one line per entry in archive order, and a trailer
    const lines = await manifestLines(result.manifestKey);
    expect(lines[0]).toEqual({
      format: 'slipway-volume-manifest/1',
      createdAt: '2026-11-22T03:00:00.000Z',
      dir: source,
      compression: 'gzip',
      archiveKey: result.archiveKey,
    });
    expect(lines.slice(1, -1).map((line) => line.path)).toEqual(before.map((node) => node.path));
    expect(lines.find((line) => line.path === 'docs/a.txt')).toEqual({
      path: 'docs/a.txt',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 16,
      mtime: expect.stringMatching(/^2024-03-04T05:06:\d\d\.250Z$/),
      sha256: sha256('hello from docs\n'),
    });
    expect(lines.find((line) => line.path === 'dangling')).toMatchObject({
      type: 'symlink',
      linkTarget: 'nowhere/missing.txt',
    });
    expect(lines.at(-1)).toEqual({
      archiveSha256: result.archiveSha256,
      archiveBytes: result.archiveBytes,
      files: 9,
      bytes: fileBytes,
      consistent: true,
      inconsistentCount: 0,
      skippedCount: 0,
    });
  });

  it('writes archives GNU tar extracts to the same tree, unicode and long names included (PAX headers)', async () => {
    // Given a backup of names that need PAX headers
    const source = await buildTree([
      { path: 'café', directory: true, mode: 0o755 },
      { path: 'café/é.txt', content: 'accent\n', mode: 0o644 },
      { path: '日本語.txt', content: 'こんにちは\n', mode: 0o600 },
      { path: '🚀.txt', content: 'emoji\n', mode: 0o644 },
      { path: `${'d'.repeat(90)}`, directory: true, mode: 0o755 },
      { path: `${'d'.repeat(90)}/${'f'.repeat(90)}.txt`, content: 'long\n', mode: 0o644 },
      { path: 'link-é', linkTo: 'café/é.txt' },
    ]);
    const result = await backup(source);

    // When GNU tar extracts the archive
    const archive = join(work, `gnu-${prefixes}.tar.gz`);
    await writeFile(archive, await objectBytes(result.archiveKey));
    const target = await mkdtemp(join(work, 'gnu-'));
    await run('tar', ['-xzf', archive, '-C', target]);

    // Then it reproduces the source tree
    expect(await snapshot(target)).toEqual(await snapshot(source));
  });

  it('archives a file that changes while it is read, and reports the backup inconsistent', async () => {
    // Given a large file that grows as soon as its reading starts
    const original = randomBytes(2 * MiB);
    const source = await buildTree([
      { path: 'a.txt', content: 'ten bytes!' },
      { path: 'growing.log', content: original },
    ]);
    let appended = false;
    const onProgress = ({ files, bytes }: { files: number; bytes: number }) => {
      if (!appended && files === 1 && bytes > 10) {
        appendFileSync(join(source, 'growing.log'), 'appended mid-read\n');
        appended = true;
      }
    };

    // When it is backed up
    const result = await backup(source, { onProgress });

    // Then the backup completes, flagged inconsistent, naming the file
    expect(appended).toBe(true);
    expect(result.consistent).toBe(false);
    expect(result.inconsistent).toEqual(['growing.log']);
    expect(result.inconsistentCount).toBe(1);
    const lines = await manifestLines(result.manifestKey);
    expect(lines.find((line) => line.path === 'growing.log')).toMatchObject({
      size: 2 * MiB,
      sha256: sha256(original),
      inconsistent: true,
    });
    expect(lines.find((line) => line.path === 'a.txt')).not.toHaveProperty('inconsistent');
    expect(lines.at(-1)).toMatchObject({ consistent: false, inconsistentCount: 1 });

    // And what was archived (the file as it was when reading began) restores and verifies
    const target = join(await mkdtemp(join(work, 'restore-')), 'volume');
    await restore(result, target);
    // Buffers are compared by digest: jest's deep equality walks 2 MiB byte by byte.
    expect(sha256(await readFile(join(target, 'growing.log')))).toBe(sha256(original));
  });

  it('skips sockets and fifos and notes them in the result and the manifest', async () => {
    // Given a tree with a fifo and a listening unix socket
    const source = await buildTree([{ path: 'data.txt', content: 'kept\n' }]);
    execFileSync('mkfifo', [join(source, 'pipe')]);
    const socket: Server = createServer();
    await new Promise<void>((resolve) => socket.listen(join(source, 'sock'), resolve));

    try {
      // When it is backed up and restored
      const result = await backup(source);
      const target = join(await mkdtemp(join(work, 'restore-')), 'volume');
      await restore(result, target);

      // Then only the regular entries are archived, and the others are listed
      expect(result.skipped).toEqual([
        { path: 'pipe', reason: 'fifo' },
        { path: 'sock', reason: 'socket' },
      ]);
      expect(result.skippedCount).toBe(2);
      expect(result.consistent).toBe(true);
      const lines = await manifestLines(result.manifestKey);
      expect(lines.filter((line) => line.type === 'skipped')).toEqual([
        { path: 'pipe', type: 'skipped', reason: 'fifo' },
        { path: 'sock', type: 'skipped', reason: 'socket' },
      ]);
      expect((await readdir(target)).sort()).toEqual(['data.txt']);
    } finally {
      await new Promise((resolve) => socket.close(resolve));
    }
  });

  it('refuses zstd clearly on a Node without it, and round-trips it where Node has it', async () => {
    // Given a tree and the zstd codec this Node may or may not have
    const source = await smallTree();
    const hasZstd = typeof (zlib as unknown as { createZstdCompress?: unknown }).createZstdCompress === 'function';
    const prefix = nextPrefix();

    // When a zstd backup is asked for
    const attempt = backupVolume({ dir: source, s3, bucket: BUCKET, prefix, now: () => NOW, compression: 'zstd' });

    // Then it either refuses before writing anything, or produces a .tar.zst that restores
    if (!hasZstd) {
      await expect(attempt).rejects.toThrow(new InvalidInput('zstd needs Node 22.15 or later; use gzip'));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
      expect(listed.KeyCount ?? 0).toBe(0);
    } else {
      const result = await attempt;
      expect(result.archiveKey).toBe(`${prefix}/20261122T030000Z.tar.zst`);
      const target = join(await mkdtemp(join(work, 'restore-')), 'volume');
      await restore(result, target);
      expect(await snapshot(target)).toEqual(await snapshot(source));
    }
  });

  it('refuses a second backup with the same timestamp rather than overwrite it', async () => {
    // Given a backup taken at NOW
    const source = await smallTree();
    const prefix = nextPrefix();
    await backupVolume({ dir: source, s3, bucket: BUCKET, prefix, now: () => NOW });

    // When another is taken in the same second, then it is refused
    await expect(backupVolume({ dir: source, s3, bucket: BUCKET, prefix, now: () => NOW })).rejects.toThrow(
      new Conflict(
        `s3://${BUCKET}/${prefix}/20261122T030000Z.manifest.ndjson already exists: a backup with this timestamp was already taken`,
      ),
    );
  });
});

describe('restoreVolume verification', () => {
  interface Corruption {
    name: string;
    corrupt: (backup: VolumeBackupResult) => Promise<string>;
  }

  const corruptions: Corruption[] = [
    {
      name: 'a flipped byte in the archive',
      corrupt: async ({ archiveKey, archiveSha256 }) => {
        const bytes = await objectBytes(archiveKey);
        const middle = Math.floor(bytes.length / 2);
        bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
        await putBytes(archiveKey, bytes);
        return `archive ${archiveKey}: SHA-256 is ${sha256(bytes)}, the manifest says ${archiveSha256}`;
      },
    },
    {
      name: 'a truncated archive',
      corrupt: async ({ archiveKey, archiveBytes }) => {
        const bytes = await objectBytes(archiveKey);
        const half = Math.floor(bytes.length / 2);
        await putBytes(archiveKey, bytes.subarray(0, half));
        return `archive ${archiveKey} ended early (unexpected end of file): ${half} bytes, the manifest says ${archiveBytes}`;
      },
    },
    {
      name: 'a deleted manifest',
      corrupt: async ({ manifestKey }) => {
        await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: manifestKey }));
        return `manifest ${manifestKey} is missing`;
      },
    },
    {
      name: 'a manifest that lies about one file',
      corrupt: async ({ manifestKey, archiveKey }) => {
        const lie = sha256('not what was archived');
        const lines = (await objectBytes(manifestKey)).toString('utf8').trimEnd().split('\n');
        const edited = lines.map((line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          return entry.path === 'docs/b.txt' ? JSON.stringify({ ...entry, sha256: lie }) : line;
        });
        await putBytes(manifestKey, `${edited.join('\n')}\n`);
        return `archive ${archiveKey}, file docs/b.txt: SHA-256 is ${sha256('b'.repeat(5_000))}, the manifest says ${lie}`;
      },
    },
  ];

  it.each(corruptions)('rejects $name and leaves a missing target missing', async ({ corrupt }) => {
    // Given a backup, then damaged
    const result = await backup(await smallTree());
    const message = await corrupt(result);
    const parent = await mkdtemp(join(work, 'restore-'));
    const target = join(parent, 'volume');

    // When it is restored into a directory that does not exist
    const error = await restore(result, target).catch((caught: unknown) => caught);

    // Then verification fails with the exact mismatch, and nothing is left behind
    expect(error).toBeInstanceOf(RestoreVerificationFailed);
    expect(error).toMatchObject({ code: 'RESTORE_VERIFICATION_FAILED', status: 422, message });
    expect(await readdir(parent)).toEqual([]);
  });

  it.each(corruptions)(
    'rejects $name and leaves an existing target as it was, even with force',
    async ({ corrupt }) => {
      // Given a backup, then damaged, and a target already holding other files
      const result = await backup(await smallTree());
      const message = await corrupt(result);
      const parent = await mkdtemp(join(work, 'restore-'));
      const target = join(parent, 'volume');
      await mkdir(join(target, 'keep'), { recursive: true });
      await writeFile(join(target, 'keep', 'precious.txt'), 'do not lose me\n');
      const before = await snapshot(target);

      // When it is restored over the target with force
      const error = await restore(result, target, true).catch((caught: unknown) => caught);

      // Then verification fails and the target is untouched
      expect(error).toBeInstanceOf(RestoreVerificationFailed);
      expect((error as Error).message).toBe(message);
      expect(await snapshot(target)).toEqual(before);
      expect(await leftovers(parent)).toEqual([]);
    },
  );
});

describe('restoreVolume targets', () => {
  it('refuses a non-empty target without force and leaves it alone', async () => {
    // Given a backup and a target holding a file
    const result = await backup(await smallTree());
    const target = join(await mkdtemp(join(work, 'restore-')), 'volume');
    await mkdir(target);
    await writeFile(join(target, 'mine.txt'), 'mine\n');
    const before = await snapshot(target);

    // When it is restored without force, then it is refused
    await expect(restore(result, target)).rejects.toThrow(
      new Conflict(`target ${target} is not empty; pass force to restore over existing files`),
    );
    expect(await snapshot(target)).toEqual(before);
  });

  it('replaces a non-empty target with force, and fills an empty one without it', async () => {
    // Given a backup, a target holding other files and an empty one
    const source = await smallTree();
    const result = await backup(source);
    const parent = await mkdtemp(join(work, 'restore-'));
    const full = join(parent, 'full');
    const empty = join(parent, 'empty');
    await mkdir(join(full, 'old'), { recursive: true });
    await writeFile(join(full, 'old', 'stale.txt'), 'stale\n');
    await mkdir(empty);

    // When it is restored over both
    await restore(result, full, true);
    await restore(result, empty);

    // Then both hold exactly the backed-up tree, and the old contents are gone
    const expected = await snapshot(source);
    expect(await snapshot(full)).toEqual(expected);
    expect(await snapshot(empty)).toEqual(expected);
    expect((await readdir(parent)).sort()).toEqual(['empty', 'full']);
  });
});

describe('restoreVolume stays inside its volume', () => {
  /** Two sibling volumes under one root, as the worker mounts them: A is restored into, B must never change. */
  async function volumes() {
    const mounts = await mkdtemp(join(work, 'mnt-'));
    const a = join(mounts, 'a');
    const b = join(mounts, 'b');
    await mkdir(join(a, 'uploads', 'data'), { recursive: true });
    await writeFile(join(a, 'uploads', 'data', 'a-only.txt'), 'volume A\n');
    await mkdir(join(b, 'data', 'nested'), { recursive: true });
    await writeFile(join(b, 'data', 'precious.txt'), 'volume B\n');
    await writeFile(join(b, 'data', 'nested', 'deep.txt'), 'volume B, deeper\n');
    return { mounts, a, b };
  }

  /** The staging directory a running restore made in `parent`. */
  const stagingIn = (parent: string) =>
    readdirSync(parent).find((name) => name.startsWith('.slipway-restore-')) as string;

  const restoreInto = (
    result: VolumeBackupResult,
    root: string,
    path: string,
    extra: { force?: boolean; onProgress?: (progress: { bytes: number }) => void } = {},
  ) => restoreVolume({ s3, bucket: BUCKET, manifestKey: result.manifestKey, root, target: join(root, path), ...extra });

  it.each([
    ['a link in the middle of the path to the sibling volume', 'uploads', 'uploads/data', '../b'],
    ['the target itself a link to the sibling volume’s directory', 'uploads/data', 'uploads/data', '../../b/data'],
    ['a link to the sibling volume two levels up', 'uploads', 'uploads/data/more', '../b'],
  ])('refuses %s with 400 naming the component, and changes neither volume', async (_label, linked, path, linkTo) => {
    // Given volume A where one component of the target path is a symbolic link into volume B
    const result = await backup(await smallTree());
    const { a, b } = await volumes();
    await rm(join(a, linked), { recursive: true });
    await symlink(linkTo, join(a, linked));
    const [beforeA, beforeB] = [await snapshot(a), await snapshot(b)];

    // When A is restored to that path with force
    const error = await restoreInto(result, a, path, { force: true }).catch((caught: unknown) => caught);

    // Then it is refused as the client's mistake, naming the component, and nothing changed anywhere
    const component = linked.split('/').at(-1);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).status).toBe(400);
    expect((error as Error).message).toBe(`targetPath: component "${component}" is a symbolic link`);
    expect(await snapshot(b)).toEqual(beforeB);
    expect(await snapshot(a)).toEqual(beforeA);
  });

  it('refuses a component that is a file, and restores through real directories, making the missing ones', async () => {
    // Given volume A with a file where a directory of the path would be
    const source = await smallTree();
    const result = await backup(source);
    const { a } = await volumes();
    await writeFile(join(a, 'notes'), 'a file\n');

    // When restored under the file, and then to a path whose last two directories do not exist yet
    const refused = await restoreInto(result, a, 'notes/data').catch((caught: unknown) => caught);
    const restored = await restoreInto(result, a, 'uploads/new/today');

    // Then the first names the file; the second made its directories and holds the tree
    expect(refused).toEqual(new InvalidInput('targetPath: component "notes" is not a directory'));
    expect(restored.target).toBe(join(a, 'uploads', 'new', 'today'));
    expect(await snapshot(join(a, 'uploads', 'new', 'today'))).toEqual(await snapshot(source));
    expect(await leftovers(join(a, 'uploads', 'new'))).toEqual([]);
  });

  it('refuses to move into place when a directory of the path became a link while the archive was extracted', async () => {
    // Given a restore of A to uploads/data with force, checked and staged while uploads was a real directory
    const result = await backup(await smallTree());
    const { a, b } = await volumes();
    const beforeB = await snapshot(b);
    let swapped = false;
    const swap = () => {
      if (swapped) return;
      swapped = true;
      // When, as the first file is extracted, uploads is moved aside and a link to volume B put in its place
      renameSync(join(a, 'uploads'), join(a, 'uploads-moved'));
      symlinkSync('../b', join(a, 'uploads'));
    };

    const error = await restoreInto(result, a, 'uploads/data', { force: true, onProgress: swap }).catch(
      (caught: unknown) => caught,
    );

    // Then the path is checked again before anything is replaced: refused, B untouched, A's data kept,
    // and the staging directory removed from where it really was
    expect(swapped).toBe(true);
    expect((error as Error).message).toBe('targetPath: component "uploads" is a symbolic link');
    expect(error).toBeInstanceOf(InvalidInput);
    expect(await snapshot(b)).toEqual(beforeB);
    expect(await readdir(join(a, 'uploads-moved'))).toEqual(['data']);
    expect(await readdir(join(a, 'uploads-moved', 'data'))).toEqual(['a-only.txt']);
  });

  it('writes nothing through a staged directory swapped for a link to the sibling volume mid-extraction', async () => {
    // Given a restore of A whose archive holds docs/a.txt and docs/b.txt
    const result = await backup(await smallTree());
    const { a, b } = await volumes();
    const beforeB = await snapshot(b);
    const parent = join(a, 'uploads');
    let moved: string | undefined;
    const swap = () => {
      if (moved) return;
      // When, once docs/a.txt is verified and before it is written, the staged docs is moved away
      // and replaced by a link into volume B
      const staging = stagingIn(parent);
      moved = join(parent, 'docs-moved');
      renameSync(join(parent, staging, 'docs'), moved);
      symlinkSync(join(b, 'data'), join(parent, staging, 'docs'));
    };

    const restored = await restoreInto(result, a, 'uploads/fresh', { onProgress: swap });

    // Then every file went into the directory the restore made and holds, never into B
    expect(restored.files).toBe(3);
    expect(await snapshot(b)).toEqual(beforeB);
    expect((await readdir(moved as string)).sort()).toEqual(['a.txt', 'b.txt']);
    expect(await lstat(join(parent, 'fresh', 'docs')).then((stats) => stats.isSymbolicLink())).toBe(true);
  });

  it('never sets a file’s mode or times through a link swapped in for a large file it has just written', async () => {
    // Given an archive with a file large enough to be streamed, and volume B holding a file of its own
    const source = await buildTree([{ path: 'big.bin', content: randomBytes(600 * 1024), mode: 0o640 }]);
    const result = await backup(source);
    const { a, b } = await volumes();
    await chmod(join(b, 'data', 'precious.txt'), 0o600);
    const beforeB = await snapshot(b);
    const parent = join(a, 'uploads');
    let swapped = false;
    const swap = (progress: { bytes: number }) => {
      if (swapped || progress.bytes < 600 * 1024) return;
      swapped = true;
      // When, as its last bytes are written, the staged file is moved away and a link into B takes its name
      const staging = stagingIn(parent);
      renameSync(join(parent, staging, 'big.bin'), join(parent, 'big-moved.bin'));
      symlinkSync(join(b, 'data', 'precious.txt'), join(parent, staging, 'big.bin'));
    };

    const error = await restoreInto(result, a, 'uploads/fresh', { onProgress: swap }).catch(
      (caught: unknown) => caught,
    );

    // Then the restore fails rather than follow the link, and B's file keeps its mode and times
    expect(swapped).toBe(true);
    expect((error as NodeJS.ErrnoException).code).toBe('ELOOP');
    expect(await snapshot(b)).toEqual(beforeB);
    expect(await leftovers(parent)).toEqual([]);
  });

  it('refuses to move a staging directory that was replaced, and removes the link left in its place', async () => {
    // Given a restore of A staging beside uploads/data
    const result = await backup(await smallTree());
    const { a, b } = await volumes();
    const beforeB = await snapshot(b);
    const parent = join(a, 'uploads');
    let staging: string | undefined;
    const swap = () => {
      if (staging) return;
      // When the staging directory is moved aside mid-extraction and a link to B takes its name
      staging = stagingIn(parent);
      renameSync(join(parent, staging), join(parent, 'staging-moved'));
      symlinkSync(join(b, 'data'), join(parent, staging));
    };

    const error = await restoreInto(result, a, 'uploads/data', { force: true, onProgress: swap }).catch(
      (caught: unknown) => caught,
    );

    // Then nothing is moved into place, B is untouched, the target keeps its files, and the link is gone
    expect(error).toBeInstanceOf(Conflict);
    expect((error as Error).message).toBe(
      `the staging directory ${staging} was replaced while the restore ran; nothing was replaced`,
    );
    expect(await snapshot(b)).toEqual(beforeB);
    expect(await readdir(join(parent, 'data'))).toEqual(['a-only.txt']);
    expect((await readdir(parent)).sort()).toEqual(['data', 'staging-moved']);
  });
});

describe('memory', () => {
  it('backs up 2,000 small files with RSS growing by less than 64 MiB', async () => {
    // Given 2,000 files of 40 KiB across 20 directories: 78 MiB, more than the budget if held at once
    const root = await mkdtemp(join(work, 'many-'));
    const filler = 'deploy release rollback probe backup\n'.repeat(1_100);
    for (let dir = 0; dir < 20; dir += 1) {
      mkdirSync(join(root, `dir-${dir}`));
      for (let file = 0; file < 100; file += 1) {
        const unique = randomBytes(3_000).toString('base64');
        writeFileSync(join(root, `dir-${dir}`, `file-${file}.txt`), `${unique}\n${filler}`.slice(0, 40 * 1_024));
      }
    }
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);

    // When it is backed up
    let result: VolumeBackupResult;
    try {
      result = await backup(root);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);

    // Then every file is in it and memory stayed bounded
    expect(result.files).toBe(2_000);
    expect(result.bytes).toBe(2_000 * 40 * 1_024);
    expect(result.consistent).toBe(true);
    expect(peak - baseline).toBeLessThan(64 * MiB);
  });
});
