import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/aws/clients/s3';
import { Conflict, InvalidInput, Unprocessable } from '../../lib/errors';
import { type EmbeddedServer, startS3rver } from '../../lib/local/servers';
import { ObjectTooLarge, STREAM_PART_PLAN } from '../../lib/worker/multipart';
import {
  backupPostgres,
  connectionFromSecret,
  connectionFromUrl,
  DumpFailed,
  dumpArgs,
  MANIFEST_FORMAT,
  type PgConnection,
  type PgTool,
  pgCommand,
  psqlArgs,
  RestoreFailed,
  restoreArgs,
  restorePostgres,
} from '../../lib/worker/postgres';
import { captureLogs } from '../support/logs';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';

const exec = promisify(execFile);
const BUCKET = 'slipway-test-pg-backups';
// A tail found nowhere else: searched for instead of the whole password, which JSON would escape.
const PASSWORD_TAIL = randomBytes(6).toString('hex');
// Every character a shell, a URL or a conninfo string would trip over.
const PASSWORD = `Pw 'q"$\\ü%@:/#-${PASSWORD_TAIL}`;
const SOURCE_DB = 'shop';
// Quotes, a space, a non-ASCII letter and the "=" that makes pg_restore -d read a connection string.
const RESTORED_DB = 'restored "drill" ü=1';
const TABLES = ['customers', 'orders', 'events'] as const;

let workDir: string;
let cluster: ThrowawayPostgres;
let s3Server: EmbeddedServer;
let s3: S3Client;
let admin: PgConnection;
let source: PgConnection;
let serverVersion: { display: string; major: number };
let realTools: Record<PgTool, string>;
let clock = Date.parse('2026-11-22T03:00:00Z');
// Each backup gets its own second, so no two tests share a key.
const nextNow = () => {
  const now = new Date(clock);
  clock += 1_000;
  return () => now;
};

const targetConnection = (dbname: string): PgConnection => ({ ...admin, dbname });

/** The test's own psql, independent of the module under test. */
async function sql(dbname: string, query: string): Promise<string> {
  const { stdout } = await exec('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query], {
    env: {
      ...process.env,
      PGHOST: admin.host,
      PGPORT: String(admin.port),
      PGUSER: admin.username,
      PGPASSWORD: admin.password,
      PGDATABASE: dbname,
    },
  });
  return stdout.trim();
}

const databaseExists = async (name: string) =>
  (await sql('postgres', `select count(*) from pg_database where datname = '${name.replaceAll("'", "''")}'`)) === '1';

const restoreTempDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('slipway-pg-restore-'));

async function objectKeys(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key as string).sort();
}

async function objectBytes(key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from((await response.Body?.transformToByteArray()) ?? []);
}

/** What each table holds, down to the last byte of every row, plus the structure pg_dump must carry. */
async function fingerprint(dbname: string) {
  const tables: Record<string, string> = {};
  for (const table of TABLES) {
    tables[table] = await sql(
      dbname,
      `select count(*) || ' ' || md5(string_agg(t::text, ',' order by id)) from ${table} t`,
    );
  }
  return {
    tables,
    indexes: await sql(
      dbname,
      "select string_agg(indexname, ',' order by indexname) from pg_indexes where schemaname = 'public'",
    ),
    foreignKeys: await sql(
      dbname,
      "select string_agg(conname, ',' order by conname) from pg_constraint where contype = 'f'",
    ),
    sequence: await sql(dbname, 'select last_value from orders_id_seq'),
  };
}

/**
 * A bin dir whose tools pass through to the real ones, logging their argv and whether
 * PGPASSWORD reached them; `overrides` replaces a tool's script body.
 */
function binDir(name: string, overrides: Partial<Record<PgTool, string>> = {}): { dir: string; argvLog: string } {
  const dir = join(workDir, 'bin', name);
  mkdirSync(dir, { recursive: true });
  const argvLog = join(dir, 'argv.log');
  for (const tool of Object.keys(realTools) as PgTool[]) {
    const body =
      overrides[tool] ??
      `printf '%s %s|password:%s\\n' "${tool}" "$*" "\${PGPASSWORD:+set}" >> '${argvLog}'\nexec '${realTools[tool]}' "$@"`;
    writeFileSync(join(dir, tool), `#!/bin/sh\n${body.replaceAll('$REAL', `'${realTools[tool]}'`)}\n`);
    chmodSync(join(dir, tool), 0o755);
  }
  return { dir, argvLog };
}

async function caught(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; status?: number; details?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'slipway-pg-test-'));
  cluster = await startThrowawayPostgres({ password: PASSWORD });
  admin = cluster.connection;
  source = targetConnection(SOURCE_DB);
  s3Server = await startS3rver(join(workDir, 's3'));
  s3 = createS3Client({ AWS_ENDPOINT_URL_S3: s3Server.endpoint, AWS_REGION: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

  const resolved = await Promise.all(
    (['pg_dump', 'pg_restore', 'psql'] as const).map(async (tool) => {
      const { stdout } = await exec('sh', ['-c', `command -v ${tool}`]);
      return [tool, stdout.trim()] as const;
    }),
  );
  realTools = Object.fromEntries(resolved) as Record<PgTool, string>;

  const [num, display] = (await sql('postgres', 'show server_version_num; show server_version')).split('\n');
  serverVersion = { display: (display ?? '').split(' ')[0] as string, major: Math.floor(Number(num) / 10_000) };

  await sql('postgres', `CREATE DATABASE ${SOURCE_DB}`);
  await sql(
    SOURCE_DB,
    `create table customers (
       id int primary key, external_id uuid not null unique, name text not null, vip boolean,
       credit numeric(12, 2), tags text[], created_at timestamptz not null, profile jsonb, avatar bytea);
     create table orders (
       id bigint generated by default as identity primary key, customer_id int not null references customers (id),
       total numeric(14, 4), placed_at timestamptz, note text, lines jsonb);
     create index orders_by_customer on orders (customer_id, placed_at);
     create table events (
       id bigint primary key, order_id bigint references orders (id), kind text, payload bytea, seen boolean,
       at timestamptz, scores int[]);
     insert into customers
       select g, md5('customer' || g)::uuid, 'Zoë Ångström ✓ 東京 ' || g,
              case when g % 3 = 0 then null else g % 2 = 0 end,
              case when g % 7 = 0 then null else (g * 12.34)::numeric(12, 2) end,
              array['tag' || (g % 5), 'ünï' || (g % 3)],
              timestamptz '2024-01-01 00:00:00+00' + g * interval '37 minutes 13.25 seconds',
              case when g % 11 = 0 then null else jsonb_build_object('n', g, 'name', 'naïve ' || g, 'list', jsonb_build_array(g, g * 2.5, null)) end,
              case when g % 5 = 0 then null else sha256(int4send(g)) end
         from generate_series(1, 2000) g;
     insert into orders (customer_id, total, placed_at, note, lines)
       select 1 + g % 2000, (g * 3.14159)::numeric(14, 4),
              case when g % 13 = 0 then null else timestamptz '2025-06-30 23:59:59.999999+02' - g * interval '1 hour' end,
              'note ' || repeat('é', g % 10) || E'\\ttab\\nline',
              jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g, 'qty', g % 4))
         from generate_series(1, 5000) g;
     insert into events
       select 10000000000 + g, 1 + g % 5000, 'kind-' || (g % 4), sha512(int8send(g)),
              case when g % 4 = 0 then null else g % 2 = 1 end,
              now() - g * interval '1 minute', array[g, -g, 2147483647]
         from generate_series(1, 3000) g`,
  );
});

afterAll(async () => {
  try {
    await cluster?.stop();
  } finally {
    await s3Server?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
});

describe('connections', () => {
  it('reads the RDS secret format, with the documented defaults for port and dbname', () => {
    const secret = { engine: 'postgres', host: 'db.example.internal', port: '6543', username: 'app', password: 'p' };

    expect(connectionFromSecret(JSON.stringify({ ...secret, dbname: 'shop' }))).toEqual({
      host: 'db.example.internal',
      port: 6543,
      username: 'app',
      password: 'p',
      dbname: 'shop',
    });
    expect(connectionFromSecret(JSON.stringify({ ...secret, port: undefined }))).toMatchObject({
      port: 5432,
      dbname: 'postgres',
    });
  });

  it('names the missing field without echoing any value', () => {
    const secret = JSON.stringify({ host: 'db.example.internal', username: 'app', dbname: 'shop', port: 5432 });
    const missingPassword = (() => {
      try {
        connectionFromSecret(secret);
      } catch (error) {
        return error as Error;
      }
    })();

    expect(missingPassword).toBeInstanceOf(InvalidInput);
    expect(missingPassword?.message).toBe('the database secret has no "password"');
    expect(() => connectionFromSecret(JSON.stringify({ host: 'h', password: PASSWORD }))).toThrow(
      'the database secret has no "username"',
    );
    expect(() =>
      connectionFromSecret(JSON.stringify({ engine: 'mysql', host: 'h', username: 'u', password: PASSWORD })),
    ).toThrow('the database secret is not for PostgreSQL');
    for (const broken of [`{"password": "${PASSWORD}"`, `postgres://u:${PASSWORD}@h/db`]) {
      expect(() => connectionFromSecret(broken)).toThrow(/^the database secret is not JSON$/);
    }
  });

  it('percent-decodes a postgres:// URL and never quotes it back', () => {
    const url = `postgres://app%40corp:${encodeURIComponent(PASSWORD)}@db.example.internal:6000/shop%20eu`;

    expect(connectionFromUrl(url)).toEqual({
      host: 'db.example.internal',
      port: 6000,
      username: 'app@corp',
      password: PASSWORD,
      dbname: 'shop eu',
    });
    expect(connectionFromUrl(`postgresql://app:${encodeURIComponent(PASSWORD)}@[::1]/shop`)).toMatchObject({
      host: '::1',
      port: 5432,
    });
    expect(() => connectionFromUrl(`postgres://app:${PASSWORD}@`)).toThrow(/^the database URL is not a URL$/);
    expect(() => connectionFromUrl(`mysql://app:${encodeURIComponent(PASSWORD)}@h/db`)).toThrow(
      /^the database URL is not a postgres:\/\/ URL$/,
    );
    expect(() => connectionFromUrl(`postgres://app:${encodeURIComponent(PASSWORD)}@h:5432`)).toThrow(
      /^the database URL has no database name$/,
    );
  });

  it('puts the connection in the environment of every tool, never in its argv', () => {
    // Given an inherited environment that points elsewhere
    const inherited = { PGPASSWORD: 'inherited', PGHOST: 'elsewhere', PGHOSTADDR: '10.9.9.9', PGSERVICE: 'prod' };
    Object.assign(process.env, inherited);
    try {
      const connection = targetConnection('shop');
      const commands = [
        pgCommand('pg_dump', dumpArgs(), connection),
        pgCommand('pg_restore', restoreArgs('x=y', '/tmp/dump', true), connection, { binDir: '/opt/pg/bin' }),
        pgCommand('psql', psqlArgs('show server_version_num'), connection, { dbname: 'postgres' }),
      ];

      for (const command of commands) {
        expect(command.args.join(' ')).not.toContain(PASSWORD_TAIL);
        expect(command.env).toMatchObject({
          PGHOST: connection.host,
          PGPORT: String(connection.port),
          PGUSER: connection.username,
          PGPASSWORD: PASSWORD,
        });
        // hostaddr would override the host, a service file would add its own settings
        expect(command.env).not.toHaveProperty('PGHOSTADDR');
        expect(command.env).not.toHaveProperty('PGSERVICE');
      }
      expect(commands.map((command) => command.env.PGDATABASE)).toEqual(['shop', 'shop', 'postgres']);
      expect(commands[1]?.file).toBe('/opt/pg/bin/pg_restore');
      // A database name with "=" stays a name: pg_restore reads -d as a connection string.
      expect(commands[1]?.args).toContain("--dbname=dbname='x=y'");
    } finally {
      for (const name of Object.keys(inherited)) delete process.env[name];
    }
  });
});

describe('backup and restore', () => {
  let dump: Awaited<ReturnType<typeof backupPostgres>>;

  it('dumps a database to S3 with a manifest, and restores it into a fresh database row for row', async () => {
    // Given a source database with ~10k rows of many types across three related tables
    const before = await fingerprint(SOURCE_DB);
    expect(Object.values(before.tables).map((summary) => Number(summary.split(' ')[0]))).toEqual([2000, 5000, 3000]);

    // When it is backed up
    dump = await backupPostgres({
      connection: source,
      s3,
      bucket: BUCKET,
      prefix: 'shop/',
      now: () => new Date('2026-11-22T03:00:00.412Z'),
    });

    // Then the dump and its manifest are stored under the timestamp, and the manifest describes the dump
    expect(dump.dumpKey).toBe('shop/20261122T030000Z.dump');
    expect(dump.manifestKey).toBe('shop/20261122T030000Z.manifest.json');
    expect(await objectKeys('shop/')).toEqual([dump.dumpKey, dump.manifestKey]);
    const stored = await objectBytes(dump.dumpKey);
    expect(stored.subarray(0, 5).toString()).toBe('PGDMP');
    expect(dump.bytes).toBe(stored.length);
    expect(dump.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    expect(dump.serverVersion).toBe(serverVersion.display);
    expect(dump.pgDumpVersion).toMatch(/^\d+\.\d+/);
    const manifest = JSON.parse((await objectBytes(dump.manifestKey)).toString('utf8'));
    expect(manifest).toEqual({
      format: MANIFEST_FORMAT,
      createdAt: '2026-11-22T03:00:00.412Z',
      database: SOURCE_DB,
      host: '127.0.0.1',
      port: admin.port,
      serverVersion: dump.serverVersion,
      pgDumpVersion: dump.pgDumpVersion,
      dumpKey: dump.dumpKey,
      bytes: dump.bytes,
      sha256: dump.sha256,
      dumpFormat: 'custom',
    });

    // When it is restored into a database that does not exist yet
    const restored = await restorePostgres({
      connection: targetConnection(RESTORED_DB),
      s3,
      bucket: BUCKET,
      manifestKey: dump.manifestKey,
    });

    // Then the database was created and holds exactly what the source holds
    expect(restored).toEqual({ bytes: dump.bytes, durationMs: expect.any(Number), database: RESTORED_DB });
    expect(await fingerprint(RESTORED_DB)).toEqual(before);
    expect(before.indexes).toContain('orders_by_customer');
    expect(before.foreignKeys.split(',')).toHaveLength(2);
  });

  it('cuts the dump into parts that grow as it streams (a small plan), and stores the same bytes', async () => {
    // Given a client that records each part it sends, and parts that double every 4 from 16 KiB to 64 KiB
    const recorded = createS3Client({ AWS_ENDPOINT_URL_S3: s3Server.endpoint, AWS_REGION: 'us-east-1' });
    const parts: Array<[number, number]> = [];
    recorded.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand') {
          const input = args.input as { PartNumber: number; Body: Uint8Array };
          parts.push([input.PartNumber, input.Body.length]);
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordParts' },
    );
    const plan = { ...STREAM_PART_PLAN, firstPartSize: 16 * 1024, doubleEvery: 4, maxPartSize: 64 * 1024 };

    // When it is backed up
    const grown = await backupPostgres({
      connection: source,
      s3: recorded,
      bucket: BUCKET,
      prefix: 'grown',
      now: nextNow(),
      upload: { plan, queueSize: 4, bufferBytes: 64 * 1024 },
    });

    // Then 16 KiB parts, then 32 KiB, then 64 KiB ones, and the object is the dump its manifest describes
    parts.sort(([a], [b]) => a - b);
    expect(parts.map(([partNumber]) => partNumber)).toEqual(parts.map((_, index) => index + 1));
    const sizes = parts.map(([, size]) => size);
    expect(sizes.slice(0, 9)).toEqual([...Array(4).fill(16 * 1024), ...Array(4).fill(32 * 1024), 64 * 1024]);
    expect(sizes.slice(8, -1).every((size) => size === 64 * 1024)).toBe(true);
    const stored = await objectBytes(grown.dumpKey);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(stored.length);
    expect(stored.length).toBe(grown.bytes);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(grown.sha256);
    expect(stored.subarray(0, 5).toString()).toBe('PGDMP');
    recorded.destroy();
  });

  it('stops a dump that outgrows what one object may hold: nothing kept, the limit named', async () => {
    // Given an object limit well under the dump's size
    const plan = { ...STREAM_PART_PLAN, firstPartSize: 16 * 1024, maxObjectSize: 100 * 1024 };

    // When it is backed up
    const error = await caught(
      backupPostgres({
        connection: source,
        s3,
        bucket: BUCKET,
        prefix: 'too-large',
        now: () => new Date('2026-11-22T05:00:00.000Z'),
        upload: { plan, queueSize: 4, bufferBytes: 64 * 1024 },
      }),
    );

    // Then
    expect(error).toBeInstanceOf(ObjectTooLarge);
    expect(error.message).toBe(
      `dump of slipway@127.0.0.1:${admin.port}/shop: s3://${BUCKET}/too-large/20261122T050000Z.dump would be over 102400 bytes, S3's limit for one object`,
    );
    expect(await objectKeys('too-large')).toEqual([]);
  });

  it('refuses a second backup in the same second rather than replace the first', async () => {
    const error = await caught(
      backupPostgres({
        connection: source,
        s3,
        bucket: BUCKET,
        prefix: 'shop',
        now: () => new Date('2026-11-22T03:00:00.900Z'),
      }),
    );

    expect(error).toBeInstanceOf(Conflict);
    expect(error.message).toBe(`a backup already exists at s3://${BUCKET}/shop/20261122T030000Z.manifest.json`);
    expect(
      createHash('sha256')
        .update(await objectBytes(dump.dumpKey))
        .digest('hex'),
    ).toBe(dump.sha256);
  });

  it('refuses to restore into the database the dump came from, unless forced', async () => {
    const error = await caught(
      restorePostgres({ connection: source, s3, bucket: BUCKET, manifestKey: dump.manifestKey }),
    );

    expect(error).toBeInstanceOf(Conflict);
    expect(error.message).toBe(
      `slipway@127.0.0.1:${admin.port}/shop is the database this dump came from; pass force to restore into it`,
    );
  });

  it('refuses a target that already has tables, and restores over them when forced', async () => {
    // Given the restored database, changed since
    await sql(RESTORED_DB, 'delete from events where id % 2 = 0; create table stray (id int)');
    const target = targetConnection(RESTORED_DB);

    // When it is restored into without force, it is refused and left as it was
    const refused = await caught(
      restorePostgres({ connection: target, s3, bucket: BUCKET, manifestKey: dump.manifestKey }),
    );
    expect(refused).toBeInstanceOf(Conflict);
    expect(refused.message).toBe(
      `database "restored \\"drill\\" ü=1" already holds 5 table(s), view(s) or sequence(s); pass force to restore over them`,
    );
    expect(await sql(RESTORED_DB, 'select count(*) from events')).toBe('1500');

    // When forced, the dump's tables are back as they were
    await restorePostgres({ connection: target, s3, bucket: BUCKET, manifestKey: dump.manifestKey, force: true });
    expect(await fingerprint(RESTORED_DB)).toEqual(await fingerprint(SOURCE_DB));
  });

  it('refuses a corrupted dump before anything touches the target', async () => {
    // Given a backup whose dump has one byte flipped in the bucket
    const tempDirsBefore = restoreTempDirs();
    const backup = await backupPostgres({ connection: source, s3, bucket: BUCKET, prefix: 'corrupt', now: nextNow() });
    const bytes = await objectBytes(backup.dumpKey);
    const index = Math.floor(bytes.length / 2);
    bytes[index] = (bytes[index] as number) ^ 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: backup.dumpKey, Body: bytes }));
    const actual = createHash('sha256').update(bytes).digest('hex');

    // When it is restored
    const error = await caught(
      restorePostgres({
        connection: targetConnection('never_created'),
        s3,
        bucket: BUCKET,
        manifestKey: backup.manifestKey,
      }),
    );

    // Then it is refused, naming both hashes, and the target database was never created
    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      `dump ${backup.dumpKey}: SHA-256 is ${actual.slice(0, 12)}…, the manifest says ${backup.sha256.slice(0, 12)}…`,
    );
    expect(await databaseExists('never_created')).toBe(false);
    // and the downloaded copy is gone
    expect(restoreTempDirs()).toEqual(tempDirsBefore);

    // When it is forced over an existing database, that database is left as it was
    await sql(RESTORED_DB, 'delete from orders where id > 4000');
    const existing = await fingerprint(RESTORED_DB);
    const forced = await caught(
      restorePostgres({
        connection: targetConnection(RESTORED_DB),
        s3,
        bucket: BUCKET,
        manifestKey: backup.manifestKey,
        force: true,
      }),
    );
    expect(forced.message).toBe(error.message);
    expect(await fingerprint(RESTORED_DB)).toEqual(existing);
  });

  it('refuses a truncated dump by its size', async () => {
    const backup = await backupPostgres({
      connection: source,
      s3,
      bucket: BUCKET,
      prefix: 'truncated',
      now: nextNow(),
    });
    const bytes = await objectBytes(backup.dumpKey);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: backup.dumpKey, Body: bytes.subarray(0, 1000) }));

    const error = await caught(
      restorePostgres({
        connection: targetConnection('never_created'),
        s3,
        bucket: BUCKET,
        manifestKey: backup.manifestKey,
      }),
    );

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(`dump ${backup.dumpKey}: size is 1000 bytes, the manifest says ${backup.bytes}`);
    expect(await databaseExists('never_created')).toBe(false);
  });

  it('refuses a missing manifest', async () => {
    const error = await caught(
      restorePostgres({
        connection: targetConnection('never_created'),
        s3,
        bucket: BUCKET,
        manifestKey: 'shop/nothing.manifest.json',
      }),
    );

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe('manifest shop/nothing.manifest.json is missing');
    expect(await databaseExists('never_created')).toBe(false);
  });

  it('reports a failed pg_restore without the password, and drops the database it created', async () => {
    // Given a pg_restore that fails quoting its environment
    const tools = binDir('failing-restore', {
      pg_restore: `if [ "$1" = "--version" ]; then exec $REAL --version; fi
echo "pg_restore: error: could not execute query (connecting with $PGPASSWORD)" >&2
exit 1`,
    });

    const error = await caught(
      restorePostgres({
        connection: targetConnection('half_restored'),
        s3,
        bucket: BUCKET,
        manifestKey: dump.manifestKey,
        binDir: tools.dir,
      }),
    );

    expect(error).toBeInstanceOf(RestoreFailed);
    expect(error.status).toBe(502);
    expect(error.message).toBe(
      `restore of ${dump.manifestKey} into slipway@127.0.0.1:${admin.port}/half_restored: pg_restore exited with code 1: pg_restore: error: could not execute query (connecting with [REDACTED])`,
    );
    expect(await databaseExists('half_restored')).toBe(false);
  });
});

describe('failed dumps', () => {
  it('pg_dump killed mid-stream: DumpFailed, no manifest, no dump object', async () => {
    // Given a pg_dump that streams 16 KiB of a real dump and is then killed
    const tools = binDir('killed', {
      pg_dump: `if [ "$1" = "--version" ]; then exec $REAL --version; fi
$REAL "$@" | head -c 16384
kill -KILL $$`,
    });

    const error = await caught(
      backupPostgres({ connection: source, s3, bucket: BUCKET, prefix: 'killed', now: nextNow(), binDir: tools.dir }),
    );

    expect(error).toBeInstanceOf(DumpFailed);
    expect(error.status).toBe(502);
    expect(error.code).toBe('DUMP_FAILED');
    expect(error.message).toBe(`dump of slipway@127.0.0.1:${admin.port}/shop: pg_dump was killed by SIGKILL`);
    expect(error.details).toMatchObject({ signal: 'SIGKILL', bytes: 16384 });
    expect(await objectKeys('killed')).toEqual([]);
  });

  it('pg_dump failing after its output is complete: DumpFailed with its stderr, password removed, nothing kept', async () => {
    // Given a pg_dump that writes and closes its output, then fails quoting the password
    const tools = binDir('exit-1', {
      pg_dump: `if [ "$1" = "--version" ]; then exec $REAL --version; fi
head -c 5000 /dev/urandom
exec 1>&-
sleep 0.5
echo "pg_dump: warning: noise" >&2
echo "pg_dump: error: query failed: lost connection (password $PGPASSWORD)" >&2
exit 1`,
    });

    const error = await caught(
      backupPostgres({ connection: source, s3, bucket: BUCKET, prefix: 'exit-1', now: nextNow(), binDir: tools.dir }),
    );

    expect(error).toBeInstanceOf(DumpFailed);
    expect(error.message).toBe(
      `dump of slipway@127.0.0.1:${admin.port}/shop: pg_dump exited with code 1: pg_dump: warning: noise\npg_dump: error: query failed: lost connection (password [REDACTED])`,
    );
    expect(JSON.stringify(error.details)).not.toContain(PASSWORD_TAIL);
    expect(error.details).toMatchObject({ exitCode: 1, bytes: 5000 });
    expect(await objectKeys('exit-1')).toEqual([]);
  });

  it('refuses a pg_dump older than the server, with what to install', async () => {
    const tools = binDir('old-pg-dump', {
      pg_dump: `if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 9.6.24"; exit 0; fi
exit 99`,
    });

    const error = await caught(
      backupPostgres({ connection: source, s3, bucket: BUCKET, prefix: 'old', now: nextNow(), binDir: tools.dir }),
    );

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      `pg_dump 9.6.24 is older than the server (${serverVersion.display}); install pg_dump ${serverVersion.major} or later`,
    );
    expect(await objectKeys('old')).toEqual([]);
  });

  it.each([
    [
      '160004',
      '16.4',
      '15.18 (Debian 15.18-0+deb12u1)',
      'pg_dump 15.18 is older than the server (16.4); install pg_dump 16 or later',
    ],
    ['90624', '9.6.24', '9.5.25', 'pg_dump 9.5.25 is older than the server (9.6.24); install pg_dump 9.6 or later'],
    // RDS and Aurora run PostgreSQL 18; an image built with the 17 client must say so rather than let pg_dump refuse.
    [
      '180001',
      '18.1',
      '17.7 (Debian 17.7-1.pgdg120+1)',
      'pg_dump 17.7 is older than the server (18.1); install pg_dump 18 or later',
    ],
  ])(
    'reads major versions as PostgreSQL numbers them (server_version_num %s is %s)',
    async (num, display, pgDump, message) => {
      const tools = binDir(`newer-server-${num}`, {
        psql: `printf '${num}\\n${display}\\n'`,
        pg_dump: `echo "pg_dump (PostgreSQL) ${pgDump}"`,
      });

      const error = await caught(
        backupPostgres({ connection: source, s3, bucket: BUCKET, prefix: 'newer', now: nextNow(), binDir: tools.dir }),
      );

      expect(error).toBeInstanceOf(Unprocessable);
      expect(error.message).toBe(message);
    },
  );

  it('says what to install when pg_dump is missing', async () => {
    const tools = binDir('no-pg-dump');
    rmSync(join(tools.dir, 'pg_dump'));

    const error = await caught(
      backupPostgres({ connection: source, s3, bucket: BUCKET, prefix: 'missing', now: nextNow(), binDir: tools.dir }),
    );

    expect(error).toBeInstanceOf(DumpFailed);
    expect(error.message).toBe(
      `dump of slipway@127.0.0.1:${admin.port}/shop: pg_dump is not installed (install the PostgreSQL client, or pass binDir)`,
    );
  });

  it('needs the password: a wrong one fails with the server saying so, and is not quoted', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;

    const error = await caught(
      backupPostgres({
        connection: { ...source, password: wrong },
        s3,
        bucket: BUCKET,
        prefix: 'wrong',
        now: nextNow(),
      }),
    );

    expect(error).toBeInstanceOf(DumpFailed);
    expect(error.message).toContain('password authentication failed for user "slipway"');
    expect(error.message).not.toContain(wrong);
    expect(await objectKeys('wrong')).toEqual([]);
  });
});

describe('the password', () => {
  it('reaches the tools through their environment only, and never a log line or argv', async () => {
    // Given tools that record their argv and whether PGPASSWORD reached them
    const tools = binDir('recording');

    // When a backup and a restore run with logs captured at debug level
    const { result, output } = await captureLogs(async () => {
      const backup = await backupPostgres({
        connection: source,
        s3,
        bucket: BUCKET,
        prefix: 'recorded',
        now: nextNow(),
        binDir: tools.dir,
      });
      await restorePostgres({
        connection: targetConnection('recorded_restore'),
        s3,
        bucket: BUCKET,
        manifestKey: backup.manifestKey,
        binDir: tools.dir,
      });
      return backup;
    });

    // Then every tool ran with the password in its environment and not in its argv
    const argv = readFileSync(tools.argvLog, 'utf8').trim().split('\n');
    expect(argv.map((line) => line.split(' ')[0])).toEqual(expect.arrayContaining(['psql', 'pg_dump', 'pg_restore']));
    expect(argv).toContain('pg_dump --format=custom --no-password|password:set');
    for (const line of argv) {
      expect(line).toMatch(/\|password:set$/);
      expect(line).not.toContain(PASSWORD_TAIL);
    }
    // and the logs, which name each command, hold no trace of it
    expect(output).toContain('running a PostgreSQL tool');
    expect(output).toContain(result.dumpKey);
    expect(output).not.toContain(PASSWORD_TAIL);
    expect(await fingerprint('recorded_restore')).toEqual(await fingerprint(SOURCE_DB));
  });
});
