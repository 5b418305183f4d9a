import { spawn } from 'node:child_process';
import { constants as fsConstants, type Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { compiledGlobMatcher, type GlobMatcher } from '../../config/glob-match';
import { Unprocessable } from '../../errors';
import { SQLITE_BUSY_TIMEOUT_MS, SQLITE_OUTPUT_LIMIT } from './limits';
import { errorCode, fd, isMissing } from './streams';
import type { SqliteGlob } from './types';

/**
 * SQLite databases on a volume, taken whole rather than copied file by file: a live database's file, read while
 * its -wal or -journal changes beside it, can make a copy that does not open.
 *
 * The sqlite3 command-line tool does the work, not node:sqlite: node:sqlite is still experimental in Node 22
 * (Stability 1.1; unflagged from 22.13, sqlite.backup() from 22.16) and absent from Node 20, and the tool runs
 * out of process, so a long copy never holds the event loop that streams the archive. The worker image installs
 * it; the volume functions' runtime has none, so the config sends volumes with `sqlite` globs to the worker task.
 *
 * The copy is `VACUUM INTO`, not the shell's `.backup`: `.backup` copies 100 pages per step and restarts whenever
 * another connection writes between two steps (sqlite.org, sqlite3_backup_step), so a database written without
 * pause may never finish; VACUUM INTO reads in one read transaction and writes "a consistent snapshot of the
 * original database" (sqlite.org, VACUUM), and in WAL mode the application's writers go on meanwhile.
 */

/** The files SQLite keeps beside a database while it is open or was left mid-transaction. */
export const SQLITE_COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

export type SqliteRole =
  | { kind: 'database'; glob: string }
  /** The -wal, -shm or -journal of a database a glob matches: its content reaches the archive through the copy. */
  | { kind: 'companion'; database: string }
  | { kind: 'plain' };

/** What a path of the volume is to the archive, given the volume's SQLite globs. */
export function sqliteRoles(globs: readonly SqliteGlob[]): (path: string) => SqliteRole {
  const matchers: Array<{ glob: string; matches: GlobMatcher }> = globs.map(({ glob, source }) => ({
    glob,
    matches: compiledGlobMatcher(glob, source),
  }));
  const globOf = (path: string) => matchers.find(({ matches }) => matches(path))?.glob;
  return (path) => {
    for (const suffix of SQLITE_COMPANION_SUFFIXES) {
      if (!path.endsWith(suffix)) continue;
      const database = path.slice(0, -suffix.length);
      if (globOf(database) !== undefined) return { kind: 'companion', database };
    }
    const glob = globOf(path);
    return glob === undefined ? { kind: 'plain' } : { kind: 'database', glob };
  };
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** SQLite's own test: the 16-byte header string, or an empty file, which SQLite opens as an empty database. */
export function isSqliteDatabase(header: Buffer, size: number): boolean {
  return size === 0 || (header.byteLength >= SQLITE_HEADER.byteLength && header.subarray(0, 16).equals(SQLITE_HEADER));
}

interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

const clipped = (text: string) => (text.length > SQLITE_OUTPUT_LIMIT ? `${text.slice(0, SQLITE_OUTPUT_LIMIT)}…` : text);

function missingTool(tool: string, cause: unknown) {
  return new Unprocessable(
    `the sqlite3 tool (${tool}) is not installed on this runner: SQLite databases are taken and checked by the worker task (runner: ecs), whose image has it`,
    { cause },
  );
}

// -init /dev/null: no ~/.sqliterc changes the output; -bail: the first error ends the run with a non-zero status.
const BASE_ARGS = ['-init', '/dev/null', '-batch', '-bail'];

/** Runs sqlite3; `descriptor` becomes its fd 3. Output past what an error keeps is read and dropped. */
function runTool(tool: string, args: string[], descriptor?: number): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, [...BASE_ARGS, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', ...(descriptor === undefined ? [] : [descriptor])],
    });
    const output = { stdout: '', stderr: '' };
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = child[name] as Readable;
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        if (output[name].length <= SQLITE_OUTPUT_LIMIT) output[name] += text;
      });
    }
    child.once('error', (error) => reject(errorCode(error) === 'ENOENT' ? missingTool(tool, error) : error));
    child.once('close', (code, signal) => {
      if (code === null) reject(new Error(`sqlite3 was ended by ${signal}`));
      else resolve({ code, ...output });
    });
  });
}

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A URI that opens the file as immutable: no lock, no -wal or -shm made beside it, nothing written. */
const immutableUri = (file: string) =>
  `file:${file.replace(/[%?#]/g, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`)}?immutable=1`;

/**
 * undefined when PRAGMA integrity_check answers `ok`; otherwise what it (or sqlite3) said instead. With a descriptor
 * the database is the file it has open, handed to sqlite3 as its fd 3, whatever path reaches it from here.
 */
export async function integrityProblem(
  tool: string,
  file: string | { descriptor: number },
): Promise<string | undefined> {
  const path = typeof file === 'string' ? file : '/proc/self/fd/3';
  const descriptor = typeof file === 'string' ? undefined : file.descriptor;
  const run = await runTool(tool, ['-readonly', immutableUri(path), 'PRAGMA integrity_check'], descriptor);
  const answer = run.stdout.trim();
  if (run.code === 0 && answer === 'ok') return undefined;
  return clipped([answer, run.stderr.trim()].filter((text) => text !== '').join('\n') || `exit status ${run.code}`);
}

/** The database's lstat-free metadata, or undefined when it vanished; refuses a file that is not a database. */
async function inspect(path: string, abs: string, glob: string): Promise<Stats | undefined> {
  let descriptor: number;
  try {
    // As for every file of the tree: never through a link, never stuck on a fifo.
    descriptor = await fd.open(abs, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (error) {
    if (isMissing(error) || errorCode(error) === 'ELOOP') return undefined;
    throw error;
  }
  try {
    const stats = await fd.fstat(descriptor);
    if (!stats.isFile()) return undefined;
    const header = Buffer.alloc(SQLITE_HEADER.byteLength);
    const { bytesRead } = await fd.read(descriptor, header, 0, header.byteLength, 0);
    if (!isSqliteDatabase(header.subarray(0, bytesRead), stats.size)) {
      throw new Unprocessable(
        `${path} matches the sqlite glob ${JSON.stringify(glob)} but is not a SQLite database: it does not start with "SQLite format 3"; narrow the glob or move the file`,
        { details: { path, glob } },
      );
    }
    return stats;
  } finally {
    await fd.close(descriptor);
  }
}

/** A database taken for the archive: its copy in scratch, and the database's own metadata for the entry. */
export interface TakenDatabase {
  copy: string;
  stats: Stats;
}

/** Takes the databases the globs match into a scratch directory, one at a time, each checked before it is archived. */
export class SqliteTaker {
  readonly roleOf: (path: string) => SqliteRole;
  private taken = 0;

  constructor(
    globs: readonly SqliteGlob[],
    private readonly scratch: string,
    private readonly tool = 'sqlite3',
  ) {
    this.roleOf = sqliteRoles(globs);
  }

  /** The checked copy, or undefined when the database vanished; throws, naming the path, when it cannot be taken. */
  async take(path: string, abs: string, glob: string): Promise<TakenDatabase | undefined> {
    const stats = await inspect(path, abs, glob);
    if (!stats) return undefined;
    this.taken += 1;
    const copy = join(this.scratch, `database-${this.taken}.sqlite`);
    // -nofollow: a database swapped for a link since the inspection is refused, not followed out of the tree.
    const run = await runTool(this.tool, [
      '-nofollow',
      '-cmd',
      `.timeout ${SQLITE_BUSY_TIMEOUT_MS}`,
      abs,
      `VACUUM INTO ${sqlString(copy)}`,
    ]);
    if (run.code !== 0) {
      await rm(copy, { force: true });
      throw new Unprocessable(
        `SQLite database ${path} could not be copied (VACUUM INTO, exit status ${run.code}): ${clipped(run.stderr.trim() || run.stdout.trim())}`,
        { details: { path } },
      );
    }
    const problem = await integrityProblem(this.tool, copy);
    if (problem !== undefined) {
      await rm(copy, { force: true });
      throw new Unprocessable(`SQLite database ${path}: its copy fails PRAGMA integrity_check: ${problem}`, {
        details: { path },
      });
    }
    return { copy, stats };
  }
}
