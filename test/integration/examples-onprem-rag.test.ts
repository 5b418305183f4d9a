import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/aws/clients/s3';
import { type EmbeddedServer, startS3rver } from '../../lib/local/servers';
import { backupPostgres } from '../../lib/worker/postgres';
import { backupVolume } from '../../lib/worker/volume';
import { motoEndpoint, resetMoto } from '../support/moto';
import { psql, startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';
import { query, Writer } from '../support/sqlite';
import { exampleEnvironment, exampleUnits, execStarts, workerArguments } from '../support/systemd';
import { runWorker, type WorkerRun } from '../support/worker';

/**
 * onprem-rag (examples/onprem-rag) run as its runbook installs it, with no AWS account and no control plane: the
 * example's own systemd units, their ExecStart= lines run in order as a oneshot service runs them (each line's
 * `/usr/bin/npx slipway-worker` is this checkout's bin/slipway-worker.mjs, the package's bin), with the environment
 * its worker.env.example names, against two S3-compatible stores (s3rver, and moto's S3), a PostgreSQL cluster, and
 * a ChromaDB-like tree (chroma.sqlite3 in WAL mode, written to throughout the backup, beside binary index files).
 */

const EXAMPLE = 'onprem-rag';
const BUCKET = 'onprem-rag-backups';
const DAY_MS = 24 * 3600 * 1000;
// Nights of backups before the units' own: with theirs, 32 days, two more than the 30 the units keep.
const EARLIER_NIGHTS = 31;
const INDEX_FILES = ['data_level0.bin', 'header.bin', 'length.bin', 'link_lists.bin'];
const COLLECTION = '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

const units = exampleUnits(EXAMPLE);
let work: string;
let cluster: ThrowawayPostgres;
let s3rver: EmbeddedServer;

interface UnitRun {
  args: string[];
  run: WorkerRun;
  result: Record<string, unknown>;
}

/** A oneshot service: each ExecStart= in order, until one exits non-zero (systemd.service(5), ExecStart=). */
async function runUnit(name: string, env: Record<string, string>): Promise<UnitRun[]> {
  const unit = units[name];
  if (!unit) throw new Error(`the example has no unit ${name}`);
  const runs: UnitRun[] = [];
  for (const line of execStarts(unit)) {
    const args = workerArguments(line, env);
    const run = await runWorker(args, env);
    const lines = run.stdout.trim().split('\n');
    if (lines.length !== 1) throw new Error(`expected one line on stdout of ${args[0]}, got:\n${run.stdout}`);
    runs.push({ args, run, result: JSON.parse(lines[0] as string) });
    if (run.code !== 0) break;
  }
  return runs;
}

const url = (dbname: string) =>
  `postgres://${cluster.connection.username}:${encodeURIComponent(cluster.connection.password)}@127.0.0.1:${cluster.connection.port}/${dbname}`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-onprem-rag-'));
  mkdirSync(join(work, 's3rver'));
  [s3rver, cluster] = await Promise.all([startS3rver(join(work, 's3rver')), startThrowawayPostgres()]);
  await resetMoto(motoEndpoint());
  // Given the backend's PostgreSQL database
  await psql(cluster, 'postgres', 'create database rag');
  await psql(
    cluster,
    'rag',
    `create table documents (id serial primary key, title text not null, body text);
     create table chats (id serial primary key, document_id int references documents(id), question text);
     insert into documents (title, body) select 'manual ' || g, repeat('chapter ', g % 30) from generate_series(1, 500) g;`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([s3rver?.close(), cluster?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe.each([
  ['s3rver', () => ({ endpoint: s3rver.endpoint, key: 'S3RVER', secret: 'S3RVER' })],
  ["moto's S3", () => ({ endpoint: motoEndpoint(), key: 'onprem', secret: 'onprem-secret' })],
])('onprem-rag on %s: the systemd units alone', (store, place) => {
  let env: Record<string, string>;
  let s3: S3Client;
  let srv: string;
  let writer: Writer | undefined;
  let backups: UnitRun[];
  const today = new Date();
  const night = (before: number) => new Date(today.getTime() - before * DAY_MS);

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }));
    return (listed.Contents ?? []).map((object) => object.Key as string).sort();
  }

  beforeAll(async () => {
    const { endpoint, key, secret } = place();
    srv = join(work, store.replace(/\W+/g, '-'));
    // Given the worker's environment file, filled in for this host: every variable the template names, no other
    env = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: key,
      AWS_SECRET_ACCESS_KEY: secret,
      SLIPWAY_BUCKET: BUCKET,
      RAG_DATA: join(srv, 'data'),
      RAG_DATABASE_URL: url('rag'),
      DRILL_DATABASE_URL: url('postgres'),
      SLIPWAY_PG_BIN_DIR: cluster.binDir,
      DRILL_SCRATCH: join(srv, 'drill'),
    };
    expect(Object.keys(env).sort()).toEqual(Object.keys(exampleEnvironment(EXAMPLE)).sort());
    s3 = createS3Client(env);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

    // And the vector store as ChromaDB keeps it: its SQLite database and a collection's index files
    const vectordb = join(env.RAG_DATA as string, 'vectordb');
    mkdirSync(join(vectordb, COLLECTION), { recursive: true });
    for (const file of INDEX_FILES) writeFileSync(join(vectordb, COLLECTION, file), randomBytes(20_000));
    // And the app's uploaded documents
    mkdirSync(join(env.RAG_DATA as string, 'app-data', 'uploads'), { recursive: true });
    writeFileSync(join(env.RAG_DATA as string, 'app-data', 'uploads', 'handbook.pdf'), randomBytes(30_000));

    // And a backup of each taken every night of the month before, as the timer took them
    const older = join(srv, 'older');
    mkdirSync(older);
    writeFileSync(join(older, 'note.txt'), 'an earlier night\n');
    const bucket = { s3, bucket: BUCKET };
    for (let before = 1; before <= EARLIER_NIGHTS; before += 1) {
      const now = () => night(before);
      await Promise.all([
        backupVolume({ dir: older, ...bucket, prefix: 'volumes/vectordb', now }),
        backupVolume({ dir: older, ...bucket, prefix: 'volumes/app-data', now }),
        backupPostgres({
          connection: { ...cluster.connection, dbname: 'rag' },
          ...bucket,
          prefix: 'postgres/rag',
          binDir: cluster.binDir,
          now,
        }),
      ]);
    }
  }, 60_000);

  afterAll(async () => {
    await writer?.stop();
    s3?.destroy();
  });

  it('runs the backup unit in order: PostgreSQL, the vector store taken through SQLite while written to, the app data, then 30 days kept of each', async () => {
    // Given ChromaDB writing to its database throughout
    writer = new Writer(join(env.RAG_DATA as string, 'vectordb', 'chroma.sqlite3'));
    await writer.until(100);

    // When the backup unit runs
    backups = await runUnit('onprem-rag-backup.service', env);
    await writer.stop();
    writer = undefined;

    // Then every line ran and succeeded, in the unit's order
    expect(backups.map(({ args, run }) => [args[0], args.at(args.indexOf('--prefix') + 1), run.code])).toEqual([
      ['backup-postgres', 'postgres/rag', 0],
      ['backup-volume', 'volumes/vectordb', 0],
      ['backup-volume', 'volumes/app-data', 0],
      ['prune', 'postgres/rag', 0],
      ['prune', 'volumes/vectordb', 0],
      ['prune', 'volumes/app-data', 0],
    ]);
    // And the vector store's database was taken once, through SQLite, its -wal and -shm left out
    expect(backups[1]?.result).toMatchObject({
      sqliteDatabases: 1,
      skipped: [
        { path: 'chroma.sqlite3-shm', reason: 'sqlite-companion' },
        { path: 'chroma.sqlite3-wal', reason: 'sqlite-companion' },
      ],
    });
    // And each prune kept the newest of 30 days, tonight's first, and deleted the two older nights' backups whole
    const day = (before: number) => night(before).toISOString().slice(0, 10);
    for (const pruned of backups.slice(3)) {
      const { kept, deleted, failed } = pruned.result as {
        kept: Array<{ createdAt: string }>;
        deleted: Array<{ createdAt: string; reason: string }>;
        failed: unknown[];
      };
      expect(kept.map(({ createdAt }) => createdAt.slice(0, 10))).toEqual(
        Array.from({ length: 30 }, (_, before) => day(before)),
      );
      expect(deleted.map(({ createdAt, reason }) => [createdAt.slice(0, 10), reason])).toEqual([
        [day(30), 'beyond retention (daily 30, weekly 0, monthly 0)'],
        [day(31), 'beyond retention (daily 30, weekly 0, monthly 0)'],
      ]);
      expect(failed).toEqual([]);
    }
    const manifests = (keys: string[]) => keys.filter((key) => key.includes('.manifest.'));
    for (const prefix of ['postgres/rag', 'volumes/vectordb', 'volumes/app-data']) {
      expect(manifests(await keysUnder(prefix))).toHaveLength(30);
    }
  }, 30_000);

  it('runs the drill unit: each restore verified and timed within --max-rto 14400, and the vector store restores whole', async () => {
    // When the drill unit runs
    const drills = await runUnit('onprem-rag-drill.service', env);

    // Then each drill passed, restoring tonight's backup, and reported its recovery time against four hours
    expect(drills.map(({ args, run }) => [args[0], run.code])).toEqual([
      ['drill-postgres', 0],
      ['drill-volume', 0],
      ['drill-volume', 0],
    ]);
    const [postgres, vectordb, appData] = drills.map(({ result }) => result);
    expect(postgres).toMatchObject({ ok: true, manifest: backups[0]?.result.manifestKey, relations: 4 });
    expect(vectordb).toMatchObject({
      ok: true,
      manifest: backups[1]?.result.manifestKey,
      files: INDEX_FILES.length + 1,
      maxRtoSeconds: 14400,
    });
    expect(appData).toMatchObject({ ok: true, manifest: backups[2]?.result.manifestKey, maxRtoSeconds: 14400 });
    for (const drill of [postgres, vectordb, appData]) {
      expect(drill?.recoverySeconds).toBeGreaterThan(0);
      expect(drill?.recoverySeconds).toBeLessThan(14400);
    }

    // When the vector store is restored by hand, as the runbook's recovery does
    const target = join(srv, 'restored-vectordb');
    const restore = await runWorker(
      ['restore-volume', '--bucket', BUCKET, '--manifest', String(backups[1]?.result.manifestKey), '--dir', target],
      env,
    );

    // Then its database passes its check and holds a prefix of the writes, and its index files are the same bytes
    expect(restore.code).toBe(0);
    expect(await query(join(target, 'chroma.sqlite3'), 'PRAGMA integrity_check')).toBe('ok');
    const [count, highest] = (await query(join(target, 'chroma.sqlite3'), 'SELECT count(*), max(id) FROM t')).split(
      '|',
    );
    expect(Number(count)).toBeGreaterThanOrEqual(100);
    expect(highest).toBe(count);
    for (const file of INDEX_FILES) {
      expect(readFileSync(join(target, COLLECTION, file))).toEqual(
        readFileSync(join(env.RAG_DATA as string, 'vectordb', COLLECTION, file)),
      );
    }
  }, 30_000);

  it('fails the drill unit on a corrupted archive: the vector store drill exits 1 with its reason, and the unit stops there', async () => {
    // Given tonight's vector store archive with one byte flipped
    const archiveKey = String(backups[1]?.result.archiveKey);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: archiveKey }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: archiveKey, Body: bytes }));

    // When the drill unit runs
    const drills = await runUnit('onprem-rag-drill.service', env);

    // Then PostgreSQL's drill passes, the vector store's fails non-zero saying why, and the app data's never runs
    expect(drills.map(({ args, run }) => [args[0], run.code])).toEqual([
      ['drill-postgres', 0],
      ['drill-volume', 1],
    ]);
    const failed = drills[1];
    expect(failed?.result).toMatchObject({ ok: false, manifest: backups[1]?.result.manifestKey });
    expect(failed?.run.stderr).toContain(`slipway-worker drill-volume: ${failed?.result.reason}`);
  }, 30_000);
});
