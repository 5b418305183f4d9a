import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Conflict, InvalidInput, SlipwayError, Unprocessable, UpstreamFailed } from '../../errors';
import { logger, registerSecretValue } from '../../observability';
import { label, type PgConnection } from './connection';
import { type PostgresManifest, readManifest } from './manifest';
import { isNotFound } from './objects';
import { psqlArgs, quoteIdentifier, quoteLiteral, type RunOptions, restoreArgs, run } from './tools';
import { parseToolVersion, toolVersion } from './versions';

// Restore: the dump checked against its manifest before pg_restore touches the target

export class RestoreFailed extends SlipwayError {
  constructor(message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) {
    super('RESTORE_FAILED', 502, message, options);
  }
}

// PostgreSQL truncates longer identifiers, so a longer name would create one database and restore into another.
const MAX_IDENTIFIER_BYTES = 63;

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
    const tables = await countRelations(connection, runOptions);
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

/** Tables, views and sequences outside the system schemas in the connection's database: a catalog query. */
export async function countRelations(connection: PgConnection, options: Omit<RunOptions, 'dbname'>): Promise<number> {
  return Number(
    (await run('psql', psqlArgs(USER_TABLE_COUNT), connection, { ...options, dbname: connection.dbname })).trim(),
  );
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
