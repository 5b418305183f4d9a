import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { Conflict, InvalidInput } from '../../../lib/errors';
import { backupVolume, restoreVolume, type VolumeBackupResult } from '../../../lib/worker/volume';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzParameters } from '../../support/fuzz';

/**
 * Volume restores into target paths with symbolic links planted along them, as an app that can write
 * to its own volume could plant them: to a sibling volume, to another place in the same volume, to
 * nothing, and files where directories should be. Whatever the layout, the sibling volume never
 * changes, the restore either lands at the path through real directories or is refused naming the
 * first component that is not one, and no staging directory is left behind. S3 is an in-memory fake.
 */

jest.setTimeout(FUZZ_TIMEOUT_MS);

const s3mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });
const objects = new Map<string, Buffer>();
const BUCKET = 'slipway-fuzz-backups';

let work: string;
let archived: VolumeBackupResult;
let expected: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-fuzz-restore-'));
  s3mock.on(HeadObjectCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound' }));
  s3mock.on(PutObjectCommand).callsFake((input) => {
    objects.set(input.Key as string, Buffer.from(input.Body as Uint8Array));
    return { ETag: '"fake"' };
  });
  s3mock.on(GetObjectCommand).callsFake((input) => {
    const body = objects.get(input.Key as string) as Buffer;
    return { Body: Readable.from([body]), ContentLength: body.byteLength };
  });
  const source = join(work, 'source');
  mkdirSync(join(source, 'docs'), { recursive: true });
  writeFileSync(join(source, 'docs', 'a.txt'), 'restored\n');
  writeFileSync(join(source, 'top.txt'), 'restored too\n');
  archived = await backupVolume({ dir: source, s3, bucket: BUCKET, prefix: 'volumes/a', now: () => new Date() });
  expected = await fingerprint(source);
});

afterAll(() => {
  s3mock.restore();
  rmSync(work, { recursive: true, force: true });
});

/** What a component of the target path is on disk, before the restore. */
type Planted = 'directory' | 'absent' | 'link-to-sibling' | 'link-inside' | 'dangling-link' | 'file';
const planted = fc.constantFrom<Planted>(
  'directory',
  'directory',
  'absent',
  'link-to-sibling',
  'link-inside',
  'dangling-link',
  'file',
);
const segment = fc.constantFrom('uploads', 'data', 'x', '2026-11-23', '.cache', '..x');
const layout = fc.array(fc.tuple(segment, planted), { minLength: 1, maxLength: 4 });

/** Every entry under `dir` with what it holds: a change anywhere shows. */
async function fingerprint(dir: string, prefix = ''): Promise<string[]> {
  const lines: string[] = [];
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const path = join(prefix, name);
    const stats = await lstat(join(dir, path));
    if (stats.isSymbolicLink()) lines.push(`${path} -> ${await readlink(join(dir, path))}`);
    else if (stats.isDirectory()) lines.push(`${path}/ ${stats.mode & 0o7777}`, ...(await fingerprint(dir, path)));
    else lines.push(`${path} ${await readFile(join(dir, path), 'utf8')}`);
  }
  return lines;
}

async function stagingLeftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(dir)) {
    if (name.includes('.slipway-')) found.push(name);
    const stats = await lstat(join(dir, name));
    if (stats.isDirectory())
      found.push(...(await stagingLeftovers(join(dir, name))).map((inner) => `${name}/${inner}`));
  }
  return found;
}

let runs = 0;

describe('a volume restore, given target paths with links planted along them', () => {
  it('never changes the sibling volume, and lands through real directories or names the first component that is not one', async () => {
    await fc.assert(
      fc.asyncProperty(layout, fc.boolean(), fc.boolean(), async (components, targetHoldsFiles, force) => {
        // Given volumes a and b side by side, and the target path's components planted in a
        runs += 1;
        const mounts = join(work, `mnt-${runs}`);
        const [a, b] = [join(mounts, 'a'), join(mounts, 'b')];
        mkdirSync(join(b, 'data'), { recursive: true });
        writeFileSync(join(b, 'data', 'precious.txt'), 'volume b\n');
        mkdirSync(join(a, 'elsewhere'), { recursive: true });
        let dir = a;
        let gone = false;
        let firstRefused: { component: string; found: string } | undefined;
        for (const [name, kind] of components) {
          const abs = join(dir, name);
          // Below something absent or not a directory, nothing more can be planted.
          const effective: Planted = gone ? 'absent' : kind;
          if (effective === 'directory') mkdirSync(abs, { recursive: true });
          else if (effective === 'link-to-sibling') symlinkSync(join(b, 'data'), abs);
          else if (effective === 'link-inside') symlinkSync(join(a, 'elsewhere'), abs);
          else if (effective === 'dangling-link') symlinkSync(join(a, 'nowhere'), abs);
          else if (effective === 'file') writeFileSync(abs, 'a file\n');
          if (effective !== 'directory' && effective !== 'absent' && !firstRefused) {
            firstRefused = { component: name, found: effective === 'file' ? 'not a directory' : 'a symbolic link' };
          }
          gone ||= effective !== 'directory';
          dir = abs;
        }
        const target = dir;
        const lastIsDirectory = !gone;
        if (lastIsDirectory && targetHoldsFiles) writeFileSync(join(target, 'mine.txt'), 'mine\n');
        const sibling = await fingerprint(b);

        // When volume a is restored to that path
        const outcome = await restoreVolume({
          s3,
          bucket: BUCKET,
          manifestKey: archived.manifestKey,
          root: a,
          target,
          force,
        }).then(
          () => 'restored' as const,
          (error: unknown) => error,
        );

        // Then the sibling volume is as it was, and nothing is left staged anywhere in a
        expect(await fingerprint(b)).toEqual(sibling);
        expect(await stagingLeftovers(a)).toEqual([]);
        // And the outcome is the first refused component, else a conflict over files, else the restored tree
        if (firstRefused) {
          expect(outcome).toBeInstanceOf(InvalidInput);
          expect((outcome as Error).message).toBe(
            `targetPath: component ${JSON.stringify(firstRefused.component)} is ${firstRefused.found}`,
          );
        } else if (lastIsDirectory && targetHoldsFiles && !force) {
          expect(outcome).toBeInstanceOf(Conflict);
        } else {
          expect(outcome).toBe('restored');
          expect(await fingerprint(target)).toEqual(expected);
        }
      }),
      fuzzParameters(Math.max(FUZZ_RUNS, 100)),
    );
  });
});
