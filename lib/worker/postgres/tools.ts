import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { SlipwayError } from '../../errors';
import { logger, redact } from '../../observability';
import type { PgConnection } from './connection';

// Running the PostgreSQL tools: credentials in their environment, never their argv; failures with scrubbed stderr

export type ToolFailure = new (
  message: string,
  options?: ConstructorParameters<typeof SlipwayError>[3],
) => SlipwayError;

const STDERR_TAIL_BYTES = 16 * 1024;
const STDERR_LINES = 5;

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

export interface PgCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

// Anything inherited that would pick another server, user or password file for the child.
const INHERITED_CONNECTION_VARIABLES =
  /^PG(HOST|HOSTADDR|PORT|USER|PASSWORD|PASSFILE|DATABASE|SERVICE|SERVICEFILE|OPTIONS|REQUIRESSL|TARGETSESSIONATTRS)$/;

/**
 * The one place a PostgreSQL tool's command line and environment are made: the connection goes
 * into PG* variables, so argv holds only options and (non-secret) database names.
 */
export function pgCommand(
  tool: PgTool,
  args: string[],
  connection: PgConnection,
  options: { binDir?: string; dbname?: string } = {},
): PgCommand {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!INHERITED_CONNECTION_VARIABLES.test(name)) env[name] = value;
  }
  Object.assign(env, {
    PGHOST: connection.host,
    PGPORT: String(connection.port),
    PGUSER: connection.username,
    PGPASSWORD: connection.password,
    PGDATABASE: options.dbname ?? connection.dbname,
    PGAPPNAME: `slipway-${tool}`,
    PGCONNECT_TIMEOUT: env.PGCONNECT_TIMEOUT ?? '15',
  });
  return { file: options.binDir ? join(options.binDir, tool) : tool, args, env };
}

export const dumpArgs = (): string[] => ['--format=custom', '--no-password'];

export function restoreArgs(dbname: string, file: string, force: boolean): string[] {
  return [
    '--no-owner',
    '--no-privileges',
    '--exit-on-error',
    '--no-password',
    ...(force ? ['--clean', '--if-exists'] : []),
    // pg_restore reads -d as a connection string; a quoted dbname= keeps a name with "=" a name.
    `--dbname=dbname=${conninfoQuote(dbname)}`,
    file,
  ];
}

export const psqlArgs = (...commands: string[]): string[] => [
  '--no-psqlrc',
  '--no-password',
  '--no-align',
  '--tuples-only',
  '--set=ON_ERROR_STOP=1',
  ...commands.map((command) => `--command=${command}`),
];

export const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;
const conninfoQuote = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** Removes the password (and any other registered secret), then keeps the last few lines. */
export function scrubbedTail(stderr: string, password: string): string {
  const withoutPassword = password ? stderr.split(password).join('[REDACTED]') : stderr;
  const lines = (redact(withoutPassword) as string)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.slice(-STDERR_LINES).join('\n');
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
}

export const exitedCleanly = (exit: Exit) => exit.code === 0 && !exit.spawnError;

export function describeExit(tool: string, exit: Exit, stderr: string): string {
  if (exit.spawnError) {
    const missing = (exit.spawnError as NodeJS.ErrnoException).code === 'ENOENT';
    return missing
      ? `${tool} is not installed (install the PostgreSQL client, or pass binDir)`
      : `${tool} did not start`;
  }
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return stderr ? `${tool} ${how}: ${stderr}` : `${tool} ${how}`;
}

/** Keeps the end of a stream: where tools put the error that made them stop. */
export function collectTail(stream: Readable | null): () => string {
  const chunks: Buffer[] = [];
  let length = 0;
  stream?.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    while (length > STDERR_TAIL_BYTES && chunks.length > 1) length -= (chunks.shift() as Buffer).length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

export function waitForExit(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

export function start(command: PgCommand): ChildProcess {
  logger.debug('running a PostgreSQL tool', {
    tool: command.file,
    args: command.args,
    host: command.env.PGHOST,
    port: command.env.PGPORT,
    user: command.env.PGUSER,
    database: command.env.PGDATABASE,
  });
  return spawn(command.file, command.args, { env: command.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface RunOptions {
  binDir?: string | undefined;
  dbname?: string;
  failure: ToolFailure;
  what: string;
}

/** Runs a tool to completion for its (small) output; a failure throws `failure` with scrubbed stderr. */
export async function run(
  tool: PgTool,
  args: string[],
  connection: PgConnection,
  options: RunOptions,
): Promise<string> {
  const command = pgCommand(tool, args, connection, {
    ...(options.binDir ? { binDir: options.binDir } : {}),
    ...(options.dbname ? { dbname: options.dbname } : {}),
  });
  const child = start(command);
  const stdout: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  const stderr = collectTail(child.stderr);
  const exit = await waitForExit(child);
  if (!exitedCleanly(exit)) {
    const tail = scrubbedTail(stderr(), connection.password);
    throw new options.failure(`${options.what}: ${describeExit(tool, exit, tail)}`, {
      details: { tool, exitCode: exit.code, signal: exit.signal, stderr: tail },
    });
  }
  return Buffer.concat(stdout).toString('utf8');
}
