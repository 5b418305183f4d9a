import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';

/** SQLite databases as an application keeps them, for the tests of volumes with `sqlite` globs. */

const run = promisify(execFile);

/** Runs SQL with the sqlite3 tool; the file opened immutable, so nothing is written beside it. */
export async function query(file: string, sql: string): Promise<string> {
  const { stdout } = await run('sqlite3', ['-init', '/dev/null', '-batch', '-bail', `file:${file}?immutable=1`, sql]);
  return stdout.trim();
}

/**
 * A writer in a process of its own, as an application would be: WAL mode, no automatic checkpoint (so every row
 * is in the -wal, never in the database file), one transaction per row with ids 1, 2, 3…, each id printed once
 * committed.
 */
const WRITER = `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute('PRAGMA journal_mode=WAL')
db.execute('PRAGMA wal_autocheckpoint=0')
db.execute('CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)')
db.execute('CREATE INDEX t_payload ON t(payload)')
i = 0
while True:
    i += 1
    db.execute('BEGIN IMMEDIATE')
    db.execute('INSERT INTO t VALUES (?, randomblob(1500))', (i,))
    db.execute('COMMIT')
    print(i, flush=True)
    time.sleep(0.001)
`;

export class Writer {
  committed = 0;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    this.child = spawn('python3', ['-c', WRITER, file], { stdio: ['pipe', 'pipe', 'pipe'] });
    let pending = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.committed = Number(line);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  async until(rows: number): Promise<void> {
    while (this.committed < rows) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
