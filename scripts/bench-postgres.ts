/**
 * PostgreSQL dump benchmark: backupPostgres against `pg_dump -Fc -f FILE`, on one throwaway cluster
 * (test/support/postgres.ts, from the Debian server packages) holding one database of about
 * `sizeMiB` on disk, pairs interleaved round by round (ours, pg_dump, ours, pg_dump…).
 *
 * The database is filled server-side with generate_series: three tables (accounts, events,
 * documents) with int, bigint, text, numeric, timestamptz, jsonb and bytea columns and their
 * indexes, text that compresses like text and bytea that does not compress at all. Then it is
 * vacuumed (freeze) and checkpointed, so no dump pays for setting hint bits.
 *
 * backupPostgres runs in bench-volume.ts's child process (bundled, as the worker image runs), with the same pg_dump
 * binary as the baseline (the cluster's bin dir): it runs psql and pg_dump --version, then streams
 * pg_dump's output through SHA-256 into a multipart upload to s3rver, in the harness process on
 * the same machine, which writes every part to disk and reassembles them. The baseline writes a
 * local file. Without PostgreSQL installed, the result says so instead of failing.
 *
 *   npx tsx scripts/bench-postgres.ts [--size-mib 1024] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { markdownTable, median, textTable } from '../lib/bench/stats';
import type { PgConnection } from '../lib/worker/postgres';
import {
  bundleChild,
  cpusLine,
  describeRatio,
  MiB,
  type Pair,
  type PostgresJob,
  pairedRatio,
  removeTemporary,
  runChild,
  seconds,
  startS3,
  temporaryDir,
  throughput,
  timeCommand,
  verdict,
} from './bench-volume';

const exec = promisify(execFile);
const BUCKET = 'slipway-bench-dumps';
const DATABASE = 'bench';
export const POSTGRES_GOAL = 0.9;
const PROBE_ROWS = 5_000;
const BATCH_BYTES = 48 * MiB;
const ACCOUNTS_SHARE = 0.15;

const environment = (connection: PgConnection, dbname: string): NodeJS.ProcessEnv => ({
  ...process.env,
  PGHOST: connection.host,
  PGPORT: String(connection.port),
  PGUSER: connection.username,
  PGPASSWORD: connection.password,
  PGDATABASE: dbname,
});

async function sql(binDir: string, connection: PgConnection, dbname: string, query: string): Promise<string> {
  const { stdout } = await exec(join(binDir, 'psql'), ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query], {
    env: environment(connection, dbname),
    maxBuffer: 16 * MiB,
  });
  return stdout.trim();
}

const WORDS =
  'deploy release rollback service task image health probe backup volume the a of to and in is for on with that this be by from as manifest archive restore cluster region bucket policy secret token environment revision container';

const SCHEMA = `
create table accounts (
  id integer primary key,
  external_id bigint not null,
  email text not null,
  name text not null,
  plan text not null,
  balance numeric(14, 2) not null,
  created_at timestamptz not null,
  settings jsonb not null
);
create unique index accounts_email on accounts (email);
create index accounts_created_at on accounts (created_at);
create table events (
  id bigint primary key,
  account_id integer not null,
  kind text not null,
  occurred_at timestamptz not null,
  amount numeric(12, 2),
  payload jsonb not null
);
create index events_account_time on events (account_id, occurred_at);
create table documents (
  id bigint primary key,
  account_id integer not null,
  title text not null,
  body text not null,
  digest bytea not null,
  attachment bytea not null,
  revised_at timestamptz not null
);
create index documents_account on documents (account_id);
-- 4,000 paragraphs of about 2.4 KB that document bodies are cut from: text that compresses like text.
create unlogged table bench_corpus as
  select n as id,
         string_agg(w[1 + (hashint4(n * 1000 + i) & 2147483647) % array_length(w, 1)]
                    || case when (hashint4(n + i * 7) & 15) = 0 then E'.\\n' else ' ' end, '') as t
    from generate_series(0, 3999) n, generate_series(1, 400) i, (select string_to_array('${WORDS}', ' ') as w) words
   group by n;
alter table bench_corpus add primary key (id);
`;

/** Rows from..to of each table, all computed by the server. */
const FILL: Record<string, (from: number, to: number, accounts: number) => string> = {
  accounts: (from, to) => `insert into accounts
    select g, (g::bigint * 2654435761) % 1000000000039, 'user' || g || '@example.com',
           initcap(w[1 + g % array_length(w, 1)]) || ' ' || initcap(w[1 + (g / 7) % array_length(w, 1)]),
           (array['free', 'team', 'business', 'enterprise'])[1 + g % 4],
           round(((hashint4(g) & 2147483647) % 10000000) / 100.0, 2),
           timestamptz '2020-01-01' + g * interval '37 seconds',
           jsonb_build_object('theme', case when g % 3 = 0 then 'dark' else 'light' end,
                              'locale', (array['en', 'de', 'fr', 'ja'])[1 + g % 4],
                              'notifications', jsonb_build_object('email', g % 2 = 0, 'sms', g % 5 = 0),
                              'api_key_hash', md5(g::text))
      from generate_series(${from}, ${to}) g, (select string_to_array('${WORDS}', ' ') as w) words`,
  events: (from, to, accounts) => `insert into events
    select g, 1 + (hashint4(g) & 2147483647) % ${accounts},
           (array['deploy', 'rollback', 'scale', 'restart', 'probe', 'backup', 'restore', 'login'])[1 + g % 8],
           timestamptz '2024-01-01' + g * interval '1.3 seconds',
           case when g % 4 = 0 then round(((g::bigint * 31) % 100000) / 100.0, 2) end,
           jsonb_build_object('request_id', md5(g::text),
                              'path', '/v1/apps/app-' || (g % 500) || '/environments/env-' || (g % 3),
                              'status', (array[200, 200, 200, 201, 204, 400, 404, 503])[1 + (g / 3) % 8],
                              'latency_ms', (hashint4(g * 3) & 1023),
                              'agent', 'slipway-cli/1.' || (g % 7) || '.' || (g % 13))
      from generate_series(${from}, ${to}) g`,
  documents: (from, to, accounts) => `insert into documents
    select g, 1 + (hashint4(g) & 2147483647) % ${accounts},
           initcap(substr(c.t, 1 + g % 100, 30 + g % 50)),
           substr(c.t, 1 + g % 200, 200 + (hashint4(g * 5) & 2147483647) % 1800),
           sha256(int8send(g)),
           (select string_agg(sha256(int8send(g * 64 + i)), ''::bytea) from generate_series(1, 4 + g % 28) i),
           timestamptz '2025-01-01' + g * interval '11 seconds'
      from generate_series(${from}, ${to}) g join bench_corpus c on c.id = g % 4000`,
};
/** Each table's share of the database, indexes and TOAST included. */
const SHARES: Record<string, number> = { accounts: ACCOUNTS_SHARE, events: 0.45, documents: 0.4 };

/**
 * Creates the `bench` database and fills it to about `sizeMiB` on disk, the tables in parallel;
 * then vacuums (freeze) and checkpoints, so no dump pays for setting hint bits.
 */
export async function fillDatabase(binDir: string, admin: PgConnection, sizeMiB: number) {
  const run = (query: string) => sql(binDir, admin, DATABASE, query);
  await sql(binDir, admin, 'postgres', `create database ${DATABASE}`);
  const filling = performance.now();
  await run(SCHEMA);
  const target = sizeMiB * MiB;
  // About 300 bytes an account row takes, indexes included.
  const accounts = Math.max(PROBE_ROWS, Math.round((target * ACCOUNTS_SHARE) / 300));
  const tables = await Promise.all(
    Object.entries(SHARES).map(([name, share]) => fillTable(run, name, target * share, accounts)),
  );
  await run('drop table bench_corpus');
  await run('vacuum (freeze, analyze)');
  await run('checkpoint');
  const fillMs = performance.now() - filling;
  const databaseBytes = Number(await run(`select pg_database_size('${DATABASE}')`));
  return { tables, fillMs, databaseBytes, connection: { ...admin, dbname: DATABASE } };
}

interface TableFill {
  name: string;
  rows: number;
  bytes: number;
}

/** Fills one table to about `bytes`: a probe batch gives the bytes a row takes, then batches of ~48 MiB. */
async function fillTable(
  run: (query: string) => Promise<string>,
  name: string,
  bytes: number,
  accounts: number,
): Promise<TableFill> {
  const fill = FILL[name] as (typeof FILL)[string];
  await run(fill(1, PROBE_ROWS, accounts));
  const probeBytes = Number(await run(`select pg_total_relation_size('${name}')`));
  const rowBytes = probeBytes / PROBE_ROWS;
  const rows = Math.max(PROBE_ROWS, Math.round(bytes / rowBytes));
  const batch = Math.max(1_000, Math.round(BATCH_BYTES / rowBytes));
  for (let done = PROBE_ROWS; done < rows; done += batch)
    await run(fill(done + 1, Math.min(rows, done + batch), accounts));
  return { name, rows, bytes: Number(await run(`select pg_total_relation_size('${name}')`)) };
}

export type PostgresBenchResult =
  | { available: false; reason: string; sizeMiB: number }
  | {
      available: true;
      sizeMiB: number;
      rounds: number;
      serverVersion: string;
      databaseBytes: number;
      tables: TableFill[];
      fillMs: number;
      dumpBytes: number;
      baselineDumpBytes: number;
      /** Ours into s3rver, and into a sink in its own process, each against the round's one baseline. */
      backup: Pair;
      sink: Pair;
      /** backupPostgres's process (not its pg_dump), s3rver's meanwhile, and the baseline pg_dump's. */
      cpuMs: number[];
      s3rverCpuMs: number[];
      pgDumpCpuMs: number[];
      restRssMiB: number[];
      peakRssMiB: number[];
      totalMs: number;
    };

export async function benchPostgres(
  options: { sizeMiB?: number; rounds?: number; log?: (line: string) => void } = {},
): Promise<PostgresBenchResult> {
  const sizeMiB = options.sizeMiB ?? 1_024;
  const rounds = options.rounds ?? 3;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const began = performance.now();
  // Imported here, so the children do not load test support.
  const { serverBinDir, startThrowawayPostgres } = await import('../test/support/postgres');
  try {
    serverBinDir();
  } catch (error) {
    return { available: false, reason: (error as Error).message, sizeMiB };
  }
  let cluster: Awaited<ReturnType<typeof startThrowawayPostgres>>;
  try {
    cluster = await startThrowawayPostgres();
  } catch (error) {
    return { available: false, reason: `the throwaway cluster did not start: ${(error as Error).message}`, sizeMiB };
  }
  const work = temporaryDir('slipway-bench-pg-');
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;
  try {
    const { binDir } = cluster;
    const admin = cluster.connection;
    const connection = { ...admin, dbname: DATABASE };
    const run = (query: string) => sql(binDir, admin, DATABASE, query);
    const { tables, fillMs, databaseBytes } = await fillDatabase(binDir, admin, sizeMiB);
    const serverVersion = await run('show server_version');
    log(`postgres: filled ${(databaseBytes / MiB).toFixed(0)} MiB in ${seconds(fillMs)}`);

    const bundle = await bundleChild(work);
    s3 = await startS3(join(work, 's3'), BUCKET);
    const dumpFile = join(work, 'baseline.dump');
    const backup: Pair = { baselineMs: [], oursMs: [] };
    const sink: Pair = { baselineMs: [], oursMs: [] };
    const cpuMs: number[] = [];
    const s3rverCpuMs: number[] = [];
    const pgDumpCpuMs: number[] = [];
    const restRssMiB: number[] = [];
    const peakRssMiB: number[] = [];
    let dumpBytes = 0;
    let baselineDumpBytes = 0;
    for (let round = 0; round < rounds; round += 1) {
      const ours = await runChild<{ bytes: number }>(bundle, {
        kind: 'backup-postgres',
        connection,
        endpoint: s3.endpoint,
        bucket: BUCKET,
        prefix: `round-${round}`,
        binDir,
      } satisfies PostgresJob);
      // The same dump into an S3 client whose requests go nowhere: the worker's own cost, with S3 elsewhere.
      const toSink = await runChild<{ bytes: number }>(bundle, {
        kind: 'backup-postgres',
        connection,
        endpoint: null,
        bucket: BUCKET,
        prefix: `sink-${round}`,
        binDir,
      } satisfies PostgresJob);
      const baseline = await timeCommand(
        join(binDir, 'pg_dump'),
        ['--format=custom', '--no-password', `--file=${dumpFile}`],
        environment(connection, DATABASE),
      );
      baselineDumpBytes = statSync(dumpFile).size;
      rmSync(dumpFile);
      backup.oursMs.push(ours.ms);
      backup.baselineMs.push(baseline.ms);
      sink.oursMs.push(toSink.ms);
      sink.baselineMs.push(baseline.ms);
      cpuMs.push(ours.cpuMs);
      s3rverCpuMs.push(ours.parentCpuMs);
      pgDumpCpuMs.push(baseline.cpuMs);
      restRssMiB.push(ours.restRssMiB);
      peakRssMiB.push(ours.peakRssMiB);
      dumpBytes = ours.value.bytes;
      log(
        `postgres: round ${round + 1}: ours ${seconds(ours.ms)} (into a sink ${seconds(toSink.ms)}), pg_dump ${seconds(baseline.ms)}`,
      );
    }
    return {
      available: true,
      sizeMiB,
      rounds,
      serverVersion,
      databaseBytes,
      tables,
      fillMs,
      dumpBytes,
      baselineDumpBytes,
      backup,
      sink,
      cpuMs,
      s3rverCpuMs,
      pgDumpCpuMs,
      restRssMiB,
      peakRssMiB,
      totalMs: performance.now() - began,
    };
  } finally {
    await s3?.close();
    await cluster.stop();
    await removeTemporary(work);
  }
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

export function describePostgresBench(result: Extract<PostgresBenchResult, { available: true }>) {
  const bytes = result.databaseBytes;
  const header = ['', 'baseline (median)', 'ours (median)', 'ratio: median (rounds)', 'goal', ''];
  const row = (what: string, pair: Pair, goal: boolean) => [
    what,
    `${seconds(median(pair.baselineMs))}, ${throughput(bytes, median(pair.baselineMs))}`,
    `${seconds(median(pair.oursMs))}, ${throughput(bytes, median(pair.oursMs))}`,
    describeRatio(pair),
    goal ? `≥ ${POSTGRES_GOAL.toFixed(2)}×` : 'reported',
    goal ? verdict(pairedRatio(pair) >= POSTGRES_GOAL) : '',
  ];
  const rows = [
    row('dump: backupPostgres → S3 elsewhere (a sink) vs `pg_dump -Fc -f FILE`', result.sink, true),
    row('dump: backupPostgres → s3rver on the same CPUs vs the same runs', result.backup, false),
  ];
  const tables = result.tables
    .map((table) => `${table.name} ${mib(table.bytes)} (${table.rows.toLocaleString('en')} rows)`)
    .join(', ');
  const databaseLine = `PostgreSQL ${result.serverVersion}, database of ${mib(bytes)} on disk: ${tables}, indexes and TOAST included; filled in ${seconds(result.fillMs)}. Dump ${mib(result.dumpBytes)} (pg_dump -f: ${mib(result.baselineDumpBytes)}).`;
  const notes = `CPU per dump, medians: the baseline pg_dump ${seconds(median(result.pgDumpCpuMs))}; beside its own pg_dump, backupPostgres's process ${seconds(median(result.cpuMs))} and s3rver ${seconds(median(result.s3rverCpuMs))}. backupPostgres's RSS was ${median(result.restRssMiB).toFixed(0)} MiB at rest and peaked at ${Math.max(...result.peakRssMiB).toFixed(0)} MiB.`;
  return {
    header,
    rows,
    databaseLine,
    notes,
    text: [databaseLine, textTable(header, rows), notes, `postgres bench: ${seconds(result.totalMs)} in all`].join(
      '\n\n',
    ),
  };
}

export function postgresSection(result: PostgresBenchResult, date: string): string {
  if (!result.available) {
    return [
      `Not measured on ${date}: ${result.reason}.`,
      '',
      'This section needs the Debian PostgreSQL server packages (initdb and pg_ctl under /usr/lib/postgresql/*/bin; `.ci/run` installs them). Run `npm run bench` again once they are installed.',
    ].join('\n');
  }
  const described = describePostgresBench(result);
  return [
    `Measured ${date} on node ${process.version}, ${result.rounds} rounds, each ours then the baseline on the same database (SLIPWAY_BENCH_DB_MIB=${result.sizeMiB}).`,
    '',
    `${described.databaseLine} Three tables with int, bigint, text, numeric, timestamptz, jsonb and bytea columns and six indexes, filled server-side with generate_series; the text compresses like text, the bytea not at all. The database is vacuumed (freeze) and checkpointed before the first dump.`,
    '',
    `Ours is the time from calling backupPostgres to its return: psql and \`pg_dump --version\` for the version checks, then \`pg_dump -Fc\` streamed through SHA-256 into a multipart upload, then the manifest. The baseline is the same pg_dump binary writing a local file. Both compress the same way (pg_dump’s default), so the ratio, baseline time ÷ our time taken per round and its median, is what streaming, hashing and uploading cost: 1.00× would be free. Throughput is database size on disk ÷ time.`,
    '',
    `Each round dumps three times: ours into S3 as the worker meets it in production, that is elsewhere: the same S3 client and requests (signed, one part per 8 MiB), answered in its process by a request handler that drops each body; ours into s3rver; then the baseline. The goal is on the first. s3rver is an S3 server in the harness process on the same ${cpusLine()}: besides taking CPU from pg_dump while it compresses (its time is in the notes), it answers CompleteMultipartUpload only after reading, hashing and rewriting the whole object on this disk, which S3 does not do; its row is what the worker costs with such a server beside it.`,
    '',
    markdownTable(described.header, described.rows),
    '',
    described.notes,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { 'size-mib': { type: 'string' }, rounds: { type: 'string' } } });
  const result = await benchPostgres({
    sizeMiB: Number(values['size-mib'] ?? process.env.SLIPWAY_BENCH_DB_MIB ?? 1024),
    rounds: Number(values.rounds ?? 3),
  });
  process.stdout.write(`${result.available ? describePostgresBench(result).text : `not measured: ${result.reason}`}\n`);
}
