import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import { Conflict, InvalidInput, SlipwayError, Unprocessable, UpstreamFailed } from '../errors';
import { logger, redact, registerSecretValue } from '../observability';
import { ObjectTooLarge, PartUploader, type PartUploaderOptions, STREAM_PART_PLAN } from './multipart';

/**
 * Logical PostgreSQL backups: `pg_dump -Fc` streamed to S3 beside a manifest, and restores that
 * check the dump against its manifest before pg_restore touches the target. Credentials reach the
 * PostgreSQL tools through their environment only, never their argv, so `ps` and logs never see them.
 */

export interface PgConnection {
  host: string;
  port: number;
  username: string;
  password: string;
  dbname: string;
}

export interface DumpResult {
  dumpKey: string;
  manifestKey: string;
  bytes: number;
  sha256: string;
  serverVersion: string;
  pgDumpVersion: string;
  durationMs: number;
}

export const MANIFEST_FORMAT = 'slipway-postgres-manifest/1';

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  createdAt: z.string(),
  database: z.string(),
  host: z.string(),
  port: z.number().int(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  dumpKey: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  dumpFormat: z.literal('custom'),
});
export type PostgresManifest = z.infer<typeof manifestSchema>;

export class DumpFailed extends SlipwayError {
  constructor(message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) {
    super('DUMP_FAILED', 502, message, options);
  }
}

export class RestoreFailed extends SlipwayError {
  constructor(message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) {
    super('RESTORE_FAILED', 502, message, options);
  }
}

type ToolFailure = new (message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) => SlipwayError;

const DEFAULT_PORT = 5432;
// The RDS secret format leaves dbname out for the instance's default database.
const DEFAULT_DBNAME = 'postgres';
const POSTGRES_ENGINES = new Set(['postgres', 'postgresql', 'aurora-postgresql']);
// PostgreSQL truncates longer identifiers, so a longer name would create one database and restore into another.
const MAX_IDENTIFIER_BYTES = 63;
const STDERR_TAIL_BYTES = 16 * 1024;
const STDERR_LINES = 5;
// Whatever is in the last part is uploaded after pg_dump exits: 8 MiB first parts keep that tail short
// and four in flight (32 MiB) keep pg_dump's pipe drained; larger parts go two at a time, so the buffers
// hold twice the part size (256 MiB around 100 GiB, 2 GiB past 794 GiB: raise worker.memory for those).
export const DUMP_UPLOAD: PartUploaderOptions = { plan: STREAM_PART_PLAN, queueSize: 4, bufferBytes: 32 * 1024 * 1024 };

// ---------------------------------------------------------------------------------------------
// Connections

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parsePort(value: unknown, source: string): number {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidInput(`${source}: "port" is not a TCP port`);
  }
  return port;
}

/** The RDS secret format in Secrets Manager: {host, port, username, password, dbname, engine?}. */
export function connectionFromSecret(secretString: string): PgConnection {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // The SyntaxError quotes the text it choked on, so it is not kept as the cause.
    throw new InvalidInput('the database secret is not JSON');
  }
  if (!isRecord(parsed)) throw new InvalidInput('the database secret is not a JSON object');
  if (typeof parsed.password === 'string') registerSecretValue(parsed.password);

  const source = 'the database secret';
  const text = (field: string): string => {
    const value = parsed[field];
    if (value === undefined || value === null || value === '') throw new InvalidInput(`${source} has no "${field}"`);
    if (typeof value !== 'string') throw new InvalidInput(`${source}: "${field}" is not a string`);
    return value;
  };
  if (parsed.engine !== undefined && !POSTGRES_ENGINES.has(String(parsed.engine))) {
    throw new InvalidInput(`${source} is not for PostgreSQL (its "engine" is not postgres)`);
  }
  const connection = {
    host: text('host'),
    port: parsed.port === undefined || parsed.port === null ? DEFAULT_PORT : parsePort(parsed.port, source),
    username: text('username'),
    password: text('password'),
    dbname: parsed.dbname === undefined || parsed.dbname === null ? DEFAULT_DBNAME : text('dbname'),
  };
  return connection;
}

/** postgres://user:pass@host:port/db, percent-decoded. */
export function connectionFromUrl(url: string): PgConnection {
  const source = 'the database URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // A TypeError from URL quotes the input, password included.
    throw new InvalidInput(`${source} is not a URL`);
  }
  const password = safeDecode(parsed.password, source, 'password');
  registerSecretValue(password);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InvalidInput(`${source} is not a postgres:// URL`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const username = safeDecode(parsed.username, source, 'user name');
  const dbname = safeDecode(parsed.pathname.replace(/^\//, ''), source, 'database name');
  if (!host) throw new InvalidInput(`${source} has no host`);
  if (!username) throw new InvalidInput(`${source} has no user name`);
  if (!password) throw new InvalidInput(`${source} has no password`);
  if (!dbname) throw new InvalidInput(`${source} has no database name`);
  return { host, port: parsed.port ? parsePort(parsed.port, source) : DEFAULT_PORT, username, password, dbname };
}

function safeDecode(value: string, source: string, part: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new InvalidInput(`${source}: its ${part} is not percent-encoded correctly`);
  }
}

const label = (connection: PgConnection, dbname = connection.dbname) =>
  `${connection.username}@${connection.host}:${connection.port}/${dbname}`;

// ---------------------------------------------------------------------------------------------
// Running the PostgreSQL tools

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

const exitedCleanly = (exit: Exit) => exit.code === 0 && !exit.spawnError;

function describeExit(tool: string, exit: Exit, stderr: string): string {
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
function collectTail(stream: Readable | null): () => string {
  const chunks: Buffer[] = [];
  let length = 0;
  stream?.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    while (length > STDERR_TAIL_BYTES && chunks.length > 1) length -= (chunks.shift() as Buffer).length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

function waitForExit(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

function start(command: PgCommand): ChildProcess {
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

interface RunOptions {
  binDir?: string | undefined;
  dbname?: string;
  failure: ToolFailure;
  what: string;
}

/** Runs a tool to completion for its (small) output; a failure throws `failure` with scrubbed stderr. */
async function run(tool: PgTool, args: string[], connection: PgConnection, options: RunOptions): Promise<string> {
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

// ---------------------------------------------------------------------------------------------
// Versions

export interface PgVersion {
  /** As printed: 15.18, 9.6.24. */
  display: string;
  /** The major release as server_version_num counts it: 150000, 90600. */
  majorNum: number;
  /** The major release as people say it: 15, 9.6. */
  major: string;
}

export function versionFromNum(versionNum: number, display: string): PgVersion {
  const majorNum =
    versionNum >= 100_000 ? Math.floor(versionNum / 10_000) * 10_000 : Math.floor(versionNum / 100) * 100;
  const major =
    majorNum >= 100_000 ? String(majorNum / 10_000) : `${Math.floor(majorNum / 10_000)}.${(majorNum / 100) % 100}`;
  return { display, majorNum, major };
}

/** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → 15.18. */
export function parseToolVersion(output: string): PgVersion | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(output);
  if (!match) return undefined;
  const [, first, second, third] = match;
  const major = Number(first);
  const display = [first, second, third].filter((part) => part !== undefined).join('.');
  const num = major >= 10 ? major * 10_000 + Number(second ?? 0) : major * 10_000 + Number(second ?? 0) * 100;
  return versionFromNum(num, display);
}

async function toolVersion(tool: PgTool, connection: PgConnection, options: RunOptions): Promise<PgVersion> {
  const output = await run(tool, ['--version'], connection, options);
  const version = parseToolVersion(output);
  if (!version) throw new options.failure(`${tool} --version printed no PostgreSQL version`);
  return version;
}

async function serverVersion(connection: PgConnection, options: RunOptions): Promise<PgVersion> {
  const output = await run('psql', psqlArgs('show server_version_num', 'show server_version'), connection, options);
  const [num, display] = output.split('\n').map((line) => line.trim());
  if (!num || !/^\d+$/.test(num) || !display)
    throw new options.failure(`${options.what}: psql printed no server version`);
  // Distributions append their build: 15.18 (Debian 15.18-0+deb12u1).
  return versionFromNum(Number(num), display.split(' ')[0] as string);
}

// ---------------------------------------------------------------------------------------------
// Backup

/** 2026-11-22T03:00:00.123Z → 20261122T030000Z */
export const backupTimestamp = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

const keyUnder = (prefix: string, name: string) => {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed ? `${trimmed}/${name}` : name;
};

/** Counts and hashes what flows through it. */
class Measure extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

const isNotFound = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'NotFound' ||
    error.name === 'NoSuchKey' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw new UpstreamFailed(`could not read s3://${bucket}/${key}`, { cause: error });
  }
}

export async function backupPostgres(options: {
  connection: PgConnection;
  s3: S3Client;
  bucket: string;
  prefix: string;
  now?: () => Date;
  binDir?: string;
  /** How the dump is cut into parts; the default grows them so a dump up to S3's 5 TiB fits. */
  upload?: PartUploaderOptions;
}): Promise<DumpResult> {
  const { connection, s3, bucket, binDir } = options;
  registerSecretValue(connection.password);
  const started = performance.now();
  const createdAt = (options.now ?? (() => new Date()))();
  const timestamp = backupTimestamp(createdAt);
  const dumpKey = keyUnder(options.prefix, `${timestamp}.dump`);
  const manifestKey = keyUnder(options.prefix, `${timestamp}.manifest.json`);
  const what = `dump of ${label(connection)}`;
  const runOptions = { binDir, failure: DumpFailed, what };

  // Independent reads: together they cost one round trip instead of three.
  const [alreadyStored, server, pgDump] = await Promise.all([
    objectExists(s3, bucket, manifestKey),
    serverVersion(connection, runOptions),
    toolVersion('pg_dump', connection, runOptions),
  ]);
  // Two backups in one second would otherwise put one dump under the other's manifest.
  if (alreadyStored) throw new Conflict(`a backup already exists at s3://${bucket}/${manifestKey}`);
  // pg_dump refuses a newer server anyway, with a message that does not say what to do.
  if (pgDump.majorNum < server.majorNum) {
    throw new Unprocessable(
      `pg_dump ${pgDump.display} is older than the server (${server.display}); install pg_dump ${server.major} or later`,
    );
  }

  const { bytes, sha256 } = await streamDump({
    connection,
    s3,
    bucket,
    dumpKey,
    binDir,
    what,
    upload: options.upload ?? DUMP_UPLOAD,
  });

  const manifest: PostgresManifest = {
    format: MANIFEST_FORMAT,
    createdAt: createdAt.toISOString(),
    database: connection.dbname,
    host: connection.host,
    port: connection.port,
    serverVersion: server.display,
    pgDumpVersion: pgDump.display,
    dumpKey,
    bytes,
    sha256,
    dumpFormat: 'custom',
  };
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: manifestKey,
        Body: `${JSON.stringify(manifest, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    await deleteQuietly(s3, bucket, dumpKey);
    throw new UpstreamFailed(`could not write the manifest s3://${bucket}/${manifestKey}`, { cause: error });
  }

  const durationMs = Math.round(performance.now() - started);
  logger.info('postgres dump stored', {
    bucket,
    dumpKey,
    manifestKey,
    bytes,
    sha256,
    host: connection.host,
    database: connection.dbname,
    durationMs,
  });
  return {
    dumpKey,
    manifestKey,
    bytes,
    sha256,
    serverVersion: server.display,
    pgDumpVersion: pgDump.display,
    durationMs,
  };
}

async function deleteQuietly(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    // No manifest points at it, so a leftover object is never restored; it only costs storage.
    logger.warn('could not delete the object of a failed dump', { bucket, key, error });
  }
}

/**
 * pg_dump's stdout → SHA-256 and byte count → a multipart upload. The object is completed only
 * once pg_dump has exited 0; a failed dump aborts the upload instead, so S3 never holds an object
 * from it (and the delete after is for an object left by anything else).
 */
async function streamDump(options: {
  connection: PgConnection;
  s3: S3Client;
  bucket: string;
  dumpKey: string;
  binDir: string | undefined;
  what: string;
  upload: PartUploaderOptions;
}): Promise<{ bytes: number; sha256: string }> {
  const { connection, s3, bucket, dumpKey, what } = options;
  const command = pgCommand('pg_dump', dumpArgs(), connection, options.binDir ? { binDir: options.binDir } : {});
  const child = start(command);
  const stderr = collectTail(child.stderr);
  const exited = waitForExit(child);

  const upload = new PartUploader(
    s3,
    { bucket, key: dumpKey, contentType: 'application/octet-stream' },
    options.upload,
  );
  const hash = createHash('sha256');
  let bytes = 0;
  let uploadError: unknown;
  const streamed = (async () => {
    try {
      // Left open on a failed write: pg_dump is stopped by SIGTERM, not by a broken pipe it would report as its own failure.
      for await (const chunk of (child.stdout as Readable).iterator({ destroyOnReturn: false })) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).byteLength;
        await upload.write(chunk as Buffer);
      }
    } catch (error) {
      uploadError = error;
      // pg_dump would block on a full pipe that nobody reads any more.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  })();

  const exit = await exited;
  await streamed;
  if (exitedCleanly(exit) && uploadError === undefined) {
    try {
      await upload.finish();
      return { bytes, sha256: hash.digest('hex') };
    } catch (error) {
      uploadError = error;
    }
  }

  const tail = scrubbedTail(stderr(), connection.password);
  try {
    await upload.abort();
  } catch (error) {
    // S3 removes the parts of an abandoned upload by the bucket's lifecycle rule; nothing completes it.
    logger.warn('could not abort the upload of a failed dump', { bucket, key: dumpKey, error });
  }
  await deleteQuietly(s3, bucket, dumpKey);
  if (uploadError instanceof ObjectTooLarge) {
    throw new ObjectTooLarge(`${what}: ${uploadError.message}`);
  }
  if (uploadError !== undefined && (exitedCleanly(exit) || exit.signal === 'SIGTERM')) {
    throw new UpstreamFailed(`${what}: could not upload s3://${bucket}/${dumpKey}`, {
      cause: uploadError,
      details: { bytes },
    });
  }
  throw new DumpFailed(`${what}: ${describeExit('pg_dump', exit, tail)}`, {
    details: { exitCode: exit.code, signal: exit.signal, stderr: tail, bytes },
  });
}

// ---------------------------------------------------------------------------------------------
// Restore

async function readManifest(s3: S3Client, bucket: string, key: string): Promise<PostgresManifest> {
  let text: string;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await response.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (isNotFound(error)) throw new Unprocessable(`manifest ${key} is missing`);
    throw new UpstreamFailed(`could not read the manifest s3://${bucket}/${key}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Unprocessable(`manifest ${key} is not JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new Unprocessable(`manifest ${key} is not a ${MANIFEST_FORMAT} manifest`);
  return parsed.data;
}

const sameDatabase = (manifest: PostgresManifest, target: PgConnection) =>
  manifest.host.toLowerCase() === target.host.toLowerCase() &&
  manifest.port === target.port &&
  manifest.database === target.dbname;

/** Downloads the dump into `file`, hashing on the way, and refuses it unless it is the one the manifest describes. */
async function downloadVerified(s3: S3Client, bucket: string, manifest: PostgresManifest, file: string) {
  const key = manifest.dumpKey;
  let body: Readable;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = response.Body as Readable;
  } catch (error) {
    if (isNotFound(error)) throw new Unprocessable(`dump ${key} is missing`);
    throw new UpstreamFailed(`could not read the dump s3://${bucket}/${key}`, { cause: error });
  }
  const measure = new Measure();
  try {
    await pipeline(body, measure, createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    throw new UpstreamFailed(`could not download the dump s3://${bucket}/${key}`, { cause: error });
  }
  const sha256 = measure.digest();
  const details = { expectedBytes: manifest.bytes, bytes: measure.bytes, expectedSha256: manifest.sha256, sha256 };
  if (measure.bytes !== manifest.bytes) {
    throw new Unprocessable(`dump ${key}: size is ${measure.bytes} bytes, the manifest says ${manifest.bytes}`, {
      details,
    });
  }
  if (sha256 !== manifest.sha256) {
    throw new Unprocessable(
      `dump ${key}: SHA-256 is ${sha256.slice(0, 12)}…, the manifest says ${manifest.sha256.slice(0, 12)}…`,
      { details },
    );
  }
}

export async function restorePostgres(options: {
  connection: PgConnection;
  s3: S3Client;
  bucket: string;
  manifestKey: string;
  force?: boolean;
  binDir?: string;
}): Promise<{ bytes: number; durationMs: number; database: string }> {
  const { connection, s3, bucket, manifestKey, binDir } = options;
  const force = options.force ?? false;
  registerSecretValue(connection.password);
  const started = performance.now();
  const database = connection.dbname;
  const what = `restore of ${manifestKey} into ${label(connection)}`;
  const runOptions = { binDir, failure: RestoreFailed, what };

  if (Buffer.byteLength(database) > MAX_IDENTIFIER_BYTES || database.includes('\0')) {
    throw new InvalidInput(`database name ${JSON.stringify(database)} is not a PostgreSQL identifier`);
  }
  const manifest = await readManifest(s3, bucket, manifestKey);
  if (sameDatabase(manifest, connection) && !force) {
    throw new Conflict(`${label(connection)} is the database this dump came from; pass force to restore into it`);
  }
  const pgRestore = await toolVersion('pg_restore', connection, runOptions);
  const dumpedWith = parseToolVersion(`(PostgreSQL) ${manifest.pgDumpVersion}`);
  // pg_restore cannot read the archive format of a newer pg_dump.
  if (dumpedWith && pgRestore.majorNum < dumpedWith.majorNum) {
    throw new Unprocessable(
      `pg_restore ${pgRestore.display} is older than the pg_dump that made ${manifest.dumpKey} (${dumpedWith.display}); install pg_restore ${dumpedWith.major} or later`,
    );
  }

  // Read-only checks first: nothing is created until the dump has been verified.
  const maintenance = { ...runOptions, dbname: 'postgres' };
  const exists = await databaseExists(connection, database, maintenance);
  if (exists && !force) {
    const tables = Number(
      (await run('psql', psqlArgs(USER_TABLE_COUNT), connection, { ...runOptions, dbname: database })).trim(),
    );
    if (tables > 0) {
      throw new Conflict(
        `database ${JSON.stringify(database)} already holds ${tables} table(s), view(s) or sequence(s); pass force to restore over them`,
      );
    }
  }

  const workDir = await mkdtemp(join(tmpdir(), 'slipway-pg-restore-'));
  try {
    const file = join(workDir, 'dump');
    await downloadVerified(s3, bucket, manifest, file);

    if (!exists) {
      // template0: the dump brings everything; template1's local additions would collide with it.
      await run(
        'psql',
        psqlArgs(`CREATE DATABASE ${quoteIdentifier(database)} TEMPLATE template0`),
        connection,
        maintenance,
      );
    }
    try {
      await run('pg_restore', restoreArgs(database, file, force), connection, { ...runOptions, dbname: database });
    } catch (error) {
      // A half-restored database we made would only stand in the way of the retry.
      if (!exists) {
        await run(
          'psql',
          psqlArgs(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)}`),
          connection,
          maintenance,
        ).catch((dropError: unknown) =>
          logger.warn('could not drop the database of a failed restore', { database, error: dropError }),
        );
      }
      throw error;
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  const durationMs = Math.round(performance.now() - started);
  logger.info('postgres dump restored', {
    bucket,
    manifestKey,
    dumpKey: manifest.dumpKey,
    bytes: manifest.bytes,
    host: connection.host,
    database,
    durationMs,
  });
  return { bytes: manifest.bytes, durationMs, database };
}

async function databaseExists(connection: PgConnection, database: string, options: RunOptions): Promise<boolean> {
  const query = `select count(*) from pg_database where datname = ${quoteLiteral(database)}`;
  return (await run('psql', psqlArgs(query), connection, options)).trim() !== '0';
}

const USER_TABLE_COUNT = `select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'`;

/** Drops a database (a drill's scratch copy); dropping one that is gone is done. */
export async function dropDatabase(connection: PgConnection, database: string, binDir?: string): Promise<void> {
  registerSecretValue(connection.password);
  await run('psql', psqlArgs(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`), connection, {
    binDir,
    dbname: 'postgres',
    failure: RestoreFailed,
    what: `dropping ${database} on ${label(connection)}`,
  });
}
