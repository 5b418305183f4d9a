import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PgConnection } from '../../lib/worker/postgres';
import { freePort } from './processes';

/**
 * A throwaway PostgreSQL cluster from the Debian server binaries (initdb, pg_ctl), for the
 * PostgreSQL tests and the dump benchmark: started in a temp dir, stopped and removed by them,
 * and by a watchdog if the process that started it dies first.
 */

const exec = promisify(execFile);
const SERVER_ROOT = '/usr/lib/postgresql';
const SUPERUSER = 'slipway';

/** A PostgreSQL cluster in a temp dir, reachable on 127.0.0.1 with a password only. */
export interface ThrowawayPostgres {
  /** To the `postgres` database as the superuser. */
  connection: PgConnection;
  /** The server's bin dir (the highest version installed). */
  binDir: string;
  stop: () => Promise<void>;
}

/** The bin dir of the highest PostgreSQL server installed the Debian way. */
export function serverBinDir(): string {
  const versions = existsSync(SERVER_ROOT)
    ? readdirSync(SERVER_ROOT)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(SERVER_ROOT, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (!newest) throw new Error(`no initdb under ${SERVER_ROOT}/*/bin: install the Debian postgresql package`);
  return join(SERVER_ROOT, newest, 'bin');
}

async function osUser(name: string): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([exec('id', ['-u', name]), exec('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error(`running as root, so the server must run as the "${name}" OS user, and there is none`);
  }
}

// Kills the postmaster and removes the cluster once `parent` is gone, whatever way it went.
const WATCHDOG = `while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
sleep 2
rm -rf "$3"`;

export async function startThrowawayPostgres(options: { password?: string } = {}): Promise<ThrowawayPostgres> {
  const binDir = serverBinDir();
  const password = options.password ?? `bench-${randomBytes(12).toString('hex')}`;
  const root = mkdtempSync(join(tmpdir(), 'slipway-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'sock');
  const passwordFile = join(root, 'password');
  mkdirSync(socketDir);
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });

  // initdb and postgres refuse to run as root.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = await osUser('postgres');
    for (const path of [root, socketDir, passwordFile]) chownSync(path, uid, gid);
  }
  const server = (tool: string, args: string[]) => {
    const file = join(binDir, tool);
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    return exec(command as string, argv as string[], { cwd: root, timeout: 120_000 });
  };

  const watchdog = spawn('sh', ['-c', WATCHDOG, 'slipway-pg-watchdog', String(process.pid), dataDir, root], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  const port = await freePort();
  try {
    await server('initdb', [
      `--pgdata=${dataDir}`,
      `--username=${SUPERUSER}`,
      '--auth=scram-sha-256',
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    // Throwaway data: durability settings off, as for any test cluster.
    const serverOptions = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await server('pg_ctl', [
      '--pgdata',
      dataDir,
      '--log',
      join(root, 'server.log'),
      '-o',
      serverOptions,
      '-w',
      'start',
    ]);
  } catch (error) {
    if (watchdog.pid) process.kill(watchdog.pid);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }

  let stopped = false;
  return {
    connection: { host: '127.0.0.1', port, username: SUPERUSER, password, dbname: 'postgres' },
    binDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        await server('pg_ctl', ['--pgdata', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        if (watchdog.pid && watchdog.exitCode === null) process.kill(watchdog.pid);
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

/** The test's own psql on a throwaway cluster, independent of the module under test: the query's output, trimmed. */
export async function psql(postgres: ThrowawayPostgres, dbname: string, query: string): Promise<string> {
  const { connection, binDir } = postgres;
  const { stdout } = await exec(join(binDir, 'psql'), ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query], {
    env: {
      ...process.env,
      PGHOST: connection.host,
      PGPORT: String(connection.port),
      PGUSER: connection.username,
      PGPASSWORD: connection.password,
      PGDATABASE: dbname,
    },
  });
  return stdout.trim();
}
