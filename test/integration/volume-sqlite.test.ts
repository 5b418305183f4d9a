import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { compilePathGlob } from '../../lib/config/glob-compile';
import { Unprocessable } from '../../lib/errors';
import {
  backupVolume,
  RestoreVerificationFailed,
  restoreVolume,
  type VolumeBackupResult,
} from '../../lib/worker/volume';
import { useBackupBucket } from '../support/backup-bucket';
import { query, Writer } from '../support/sqlite';
import { runWorker } from '../support/worker';

/**
 * SQLite databases on a volume (volumes.<v>.sqlite): taken through SQLite into the archive, never as raw files, and
 * checked with PRAGMA integrity_check when taken and again when restored. The databases are real (the sqlite3 tool
 * and Python's sqlite3 module), the bucket is s3rver.
 */

const run = promisify(execFile);
const BUCKET = 'slipway-test-backups';
const NOW = new Date('2026-11-22T03:00:00Z');

const place = useBackupBucket('slipway-volume-sqlite-', BUCKET);
let prefixes = 0;

const globs = (...texts: string[]) => texts.map(compilePathGlob);

function backup(dir: string, extra: Partial<Parameters<typeof backupVolume>[0]> = {}) {
  prefixes += 1;
  return backupVolume({
    dir,
    s3: place.s3,
    bucket: BUCKET,
    prefix: `backups/sqlite-${prefixes}`,
    now: () => NOW,
    ...extra,
  });
}

const restore = (result: VolumeBackupResult, target: string) =>
  restoreVolume({ s3: place.s3, bucket: BUCKET, manifestKey: result.manifestKey, target });

async function objectText(key: string): Promise<string> {
  const response = await place.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (response.Body as { transformToString(): Promise<string> }).transformToString();
}

async function manifestLines(key: string): Promise<Array<Record<string, unknown>>> {
  return (await objectText(key))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function manifestExists(prefix: string): Promise<boolean> {
  const key = `${prefix}/20261122T030000Z.manifest.ndjson`;
  return place.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    () => false,
  );
}

async function makeDatabase(file: string, rows: number): Promise<void> {
  await run('sqlite3', [
    '-init',
    '/dev/null',
    '-batch',
    '-bail',
    file,
    `CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v);
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
     INSERT INTO t SELECT i, printf('value-%06d', i) FROM n;`,
  ]);
}

describe('volumes with sqlite globs', () => {
  it('takes a WAL database written to throughout the archive as a consistent prefix of its writes, never its raw files', async () => {
    // Given a volume with a plain file and a WAL-mode database that a process keeps writing to
    const source = await mkdtemp(join(place.work, 'tree-'));
    await mkdir(join(source, 'data'));
    await writeFile(join(source, 'notes.txt'), 'plain file\n');
    const database = join(source, 'data', 'app.db');
    const writer = new Writer(database);
    try {
      await writer.until(200);
      const before = writer.committed;
      expect((await readdir(join(source, 'data'))).sort()).toEqual(['app.db', 'app.db-shm', 'app.db-wal']);

      // When it is archived while the writes go on
      const result = await backup(source, { sqlite: globs('data/*.db') });
      const after = writer.committed;
      await writer.until(after + 50);

      // Then the writes went on during the archive
      expect(after).toBeGreaterThan(before);
      // And the database was taken once, its -wal and -shm left out of the archive
      expect(result.sqliteDatabases).toBe(1);
      expect(result.skipped).toEqual([
        { path: 'data/app.db-shm', reason: 'sqlite-companion' },
        { path: 'data/app.db-wal', reason: 'sqlite-companion' },
      ]);
      const lines = await manifestLines(result.manifestKey);
      expect(lines.find((line) => line.path === 'data/app.db')).toMatchObject({ type: 'file', sqlite: true });
      expect(lines.find((line) => line.path === 'notes.txt')).not.toHaveProperty('sqlite');

      // When it is restored into a fresh directory
      const target = join(await mkdtemp(join(place.work, 'restore-')), 'volume');
      const restored = await restore(result, target);

      // Then the database is there alone, passes its check, and holds ids 1..n: every write committed before the
      // archive started, none torn, none skipped
      expect(restored.sqliteDatabases).toBe(1);
      expect(await readdir(join(target, 'data'))).toEqual(['app.db']);
      const copy = join(target, 'data', 'app.db');
      expect(await query(copy, 'PRAGMA integrity_check')).toBe('ok');
      const [count, lowest, highest] = (await query(copy, 'SELECT count(*), min(id), max(id) FROM t')).split('|');
      const n = Number(count);
      expect(n).toBeGreaterThanOrEqual(before);
      expect(n).toBeLessThanOrEqual(after + 1);
      expect([Number(lowest), Number(highest)]).toEqual([1, n]);
      // And the plain file is restored as it was
      expect(await readFile(join(target, 'notes.txt'), 'utf8')).toBe('plain file\n');
    } finally {
      await writer.stop();
    }
  }, 20_000);

  it('refuses a file a glob matches that is not a SQLite database, naming it, and writes no manifest', async () => {
    // Given a volume where data/*.db matches a text file beside a real database
    const source = await mkdtemp(join(place.work, 'tree-'));
    await mkdir(join(source, 'data'));
    await makeDatabase(join(source, 'data', 'app.db'), 10);
    await writeFile(join(source, 'data', 'readme.db'), 'not a database\n');

    // When it is archived
    const error = await backup(source, { sqlite: globs('data/*.db') }).catch((caught: unknown) => caught);

    // Then the archive fails, naming the file and the glob, and no manifest marks it finished
    expect(error).toBeInstanceOf(Unprocessable);
    expect((error as Error).message).toBe(
      'data/readme.db matches the sqlite glob "data/*.db" but is not a SQLite database: it does not start with "SQLite format 3"; narrow the glob or move the file',
    );
    expect(await manifestExists(`backups/sqlite-${prefixes}`)).toBe(false);
  });

  it('refuses a damaged database rather than archive it, naming it', async () => {
    // Given a database whose index page is overwritten
    const source = await mkdtemp(join(place.work, 'tree-'));
    const file = join(source, 'app.db');
    await makeDatabase(file, 2_000);
    await damage(file);

    // When it is archived
    const error = await backup(source, { sqlite: globs('*.db') }).catch((caught: unknown) => caught);

    // Then the archive fails, naming the database, and finishes nothing
    expect(error).toBeInstanceOf(Unprocessable);
    expect((error as Error).message).toMatch(
      /^SQLite database app\.db could not be copied \(VACUUM INTO, exit status 11\): .*database disk image is malformed/,
    );
    expect(await manifestExists(`backups/sqlite-${prefixes}`)).toBe(false);
  });

  it('refuses a copy that fails its check, so none is archived unchecked', async () => {
    // Given a sqlite3 that damages each copy it makes once it has made it
    const source = await mkdtemp(join(place.work, 'tree-'));
    await makeDatabase(join(source, 'app.db'), 2_000);
    const tool = join(await mkdtemp(join(place.work, 'tool-')), 'sqlite3');
    await writeFile(
      tool,
      `#!/bin/bash
sqlite3 "$@" || exit $?
exec python3 - "\${@: -1}" <<'PY'
import re, sys
made = re.match(r"VACUUM INTO '(.*)'$", sys.argv[1], re.S)
if made:
    with open(made.group(1).replace("''", "'"), 'r+b') as copy:
        copy.seek(4096 * 2 + 3000)
        copy.write(bytes([7]) * 1096)
PY
`,
    );
    await chmod(tool, 0o755);

    // When it is archived
    const error = await backup(source, { sqlite: globs('*.db'), sqlite3: tool }).catch((caught: unknown) => caught);

    // Then the check of the copy fails the archive, with what the check said
    expect(error).toBeInstanceOf(Unprocessable);
    expect((error as Error).message).toMatch(
      /^SQLite database app\.db: its copy fails PRAGMA integrity_check: \*\*\* in database main \*\*\*\n/,
    );
    expect(await manifestExists(`backups/sqlite-${prefixes}`)).toBe(false);
  });

  it('says the runner has no sqlite3 when the tool is missing, rather than copy the file', async () => {
    // Given a runner without the sqlite3 tool
    const source = await mkdtemp(join(place.work, 'tree-'));
    await makeDatabase(join(source, 'app.db'), 10);

    // When a volume with a database is archived there
    const error = await backup(source, { sqlite: globs('*.db'), sqlite3: join(place.work, 'no-such-sqlite3') }).catch(
      (caught: unknown) => caught,
    );

    // Then it fails saying where databases are taken
    expect(error).toEqual(
      new Unprocessable(
        `the sqlite3 tool (${join(place.work, 'no-such-sqlite3')}) is not installed on this runner: SQLite databases are taken and checked by the worker task (runner: ecs), whose image has it`,
      ),
    );
  });

  it('fails a restore whose database fails PRAGMA integrity_check, naming it, and leaves the target missing', async () => {
    // Given an archive whose manifest marks a damaged database as taken through SQLite
    const source = await mkdtemp(join(place.work, 'tree-'));
    await makeDatabase(join(source, 'app.db'), 2_000);
    await damage(join(source, 'app.db'));
    const result = await backup(source);
    const lines = (await objectText(result.manifestKey)).trimEnd().split('\n');
    const edited = lines.map((line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      return entry.path === 'app.db' ? JSON.stringify({ ...entry, sqlite: true }) : line;
    });
    await place.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: result.manifestKey, Body: `${edited.join('\n')}\n` }),
    );

    // When it is restored
    const parent = await mkdtemp(join(place.work, 'restore-'));
    const error = await restore(result, join(parent, 'volume')).catch((caught: unknown) => caught);

    // Then the check fails the restore with the path and the check's output, and nothing is left behind
    expect(error).toBeInstanceOf(RestoreVerificationFailed);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^archive ${result.archiveKey}, SQLite database app\\.db fails PRAGMA integrity_check: \\*\\*\\* in database main \\*\\*\\*\\n`,
      ),
    );
    expect(await readdir(parent)).toEqual([]);
  });
});

describe('slipway-worker backup-volume --sqlite', () => {
  it('takes the databases each repeated --sqlite names, and restore-volume checks them, one JSON line each', async () => {
    // Given a directory with a database under data/ and another anywhere below it
    const dir = await mkdtemp(join(place.work, 'tree-'));
    await mkdir(join(dir, 'data'));
    await mkdir(join(dir, 'cache', 'deep'), { recursive: true });
    await makeDatabase(join(dir, 'data', 'app.db'), 10);
    await makeDatabase(join(dir, 'cache', 'deep', 'index.sqlite'), 10);
    const env = { AWS_ENDPOINT_URL: place.server.endpoint };

    // When it is backed up with two globs, then restored
    const backedUp = await runWorker(
      [
        'backup-volume',
        '--dir',
        dir,
        '--bucket',
        BUCKET,
        '--prefix',
        'cli/sqlite',
        '--sqlite',
        'data/*.db',
        '--sqlite',
        '**/*.sqlite',
      ],
      env,
    );
    const written = JSON.parse(backedUp.stdout.trim());
    const target = join(await mkdtemp(join(place.work, 'restore-')), 'volume');
    const restored = await runWorker(
      ['restore-volume', '--bucket', BUCKET, '--manifest', written.manifestKey, '--dir', target],
      env,
    );

    // Then both were taken as databases and both were checked again once restored
    expect(backedUp.code).toBe(0);
    expect(written).toMatchObject({ command: 'backup-volume', files: 2, sqliteDatabases: 2 });
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout.trim())).toMatchObject({ command: 'restore-volume', sqliteDatabases: 2 });
    expect(await query(join(target, 'cache', 'deep', 'index.sqlite'), 'SELECT count(*) FROM t')).toBe('10');
  }, 20_000);

  it('refuses a glob that cannot name a path under the directory, as a usage mistake', async () => {
    // When a negated glob is given
    const run = await runWorker(
      ['backup-volume', '--dir', place.work, '--bucket', BUCKET, '--prefix', 'cli/refused', '--sqlite', '!*.db'],
      { AWS_ENDPOINT_URL: place.server.endpoint },
    );

    // Then it exits 2, saying why
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(
      'slipway-worker: --sqlite "!*.db": a leading ! (negation) is not supported: name the databases instead',
    );
  });
});

/** Overwrites the end of the database's third page, an index page of makeDatabase's table. */
async function damage(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes.fill(0x07, 4096 * 2 + 3000, 4096 * 3);
  await writeFile(file, bytes);
}
