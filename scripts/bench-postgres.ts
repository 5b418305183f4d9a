/**
 * PostgreSQL dump benchmark: `pg_dump -Fc -f FILE` against backupPostgres on one throwaway cluster
 * and one database of about `sizeMiB`, interleaved round by round. The baseline writes a local file;
 * backupPostgres streams through SHA-256 into a multipart upload to s3rver on the same machine, whose
 * CPU and disk writes (and its reassembly of the parts) compete with pg_dump, so they are inside our
 * figure. A third column, pg_dump piped through SHA-256 and dropped, separates the cost of the pipe
 * from that of the upload. Ratio = baseline / ours.
 *
 *   npx tsx scripts/bench-postgres.ts [--size-mib 64]
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createClient } from '../lib/aws/clients';
import { median, ratio, textTable } from '../lib/bench/stats';
import { backupPostgres, dumpArgs, type PgConnection, pgCommand } from '../lib/worker/postgres';
import { startThrowawayPostgres } from '../test/support/postgres';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname ?? '.', '..');
const ROUNDS = 3;
const MiB = 1024 * 1024;
const _SERVER_ROOT = '/usr/lib/postgresql';
const _SUPERUSER = 'slipway';

const environment = (connection: PgConnection, dbname: string) => ({
  ...process.env,
  PGHOST: connection.host,
  PGPORT: String(connection.port),
  PGUSER: connection.username,
  PGPASSWORD: connection.password,
  PGDATABASE: dbname,
});

async function sql(connection: PgConnection, dbname: string, query: string): Promise<string> {
  const { stdout } = await exec('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query], {
    env: environment(connection, dbname),
    maxBuffer: 16 * MiB,
  });
  return stdout.trim();
}

// About 850 bytes a row: hex text and bytea from SHA-512, so the dump compresses like real data, not like zeros.
const FILL = (from: number, to: number) => `insert into payloads
  select g,
         now() - g * interval '1 second',
         encode(sha512(int8send(g)), 'hex') || encode(sha512(int8send(-g)), 'hex') || ' row ' || g,
         sha512(int8send(g * 7)) || sha512(int8send(g * 11)) || sha512(int8send(g * 13)) || sha512(int8send(g * 17)),
         jsonb_build_object('id', g, 'tag', 'tag-' || (g % 100))
    from generate_series(${from}, ${to}) g`;
const PROBE_ROWS = 10_000;
const BATCH_ROWS = 200_000;

// lib/local/servers.ts's s3rver, in a process of its own: S3 does not run inside the worker either.
const S3RVER_PROCESS = `import S3rver from 's3rver';
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: process.env.S3RVER_DIR, silent: true });
const { port } = await server.run();
console.log(port);`;

/** CPU a process has used so far, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks of 10 ms on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function startS3rverProcess(
  dataDir: string,
): Promise<{ endpoint: string; cpuMs: () => number; close: () => Promise<void> }> {
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, ['--input-type=module', '--eval', S3RVER_PROCESS], {
    cwd: ROOT,
    env: { ...process.env, S3RVER_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((listening, failed) => {
    child.once('exit', (code) => failed(new Error(`s3rver exited with code ${code}`)));
    child.stdout.once('data', (chunk: Buffer) => listening(chunk.toString().trim()));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cpuMs: () => processCpuMs(child.pid),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill();
      await exited;
    },
  };
}

/** backupPostgres's pipe without the upload: what streaming and hashing cost on their own. */
async function dumpThroughSha256(connection: PgConnection): Promise<void> {
  const command = pgCommand('pg_dump', dumpArgs(), connection);
  const child = spawn(command.file, command.args, { env: command.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const hash = createHash('sha256');
  child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
  const code = await new Promise<number | null>((closed) => child.on('close', closed));
  if (code !== 0) throw new Error(`pg_dump exited with code ${code}`);
  hash.digest();
}

export async function benchPostgres(options: { sizeMiB?: number } = {}) {
  const sizeMiB = options.sizeMiB ?? 1024;
  const cluster = await startThrowawayPostgres();
  const workDir = mkdtempSync(join(tmpdir(), 'slipway-bench-pg-'));
  const s3 = await startS3rverProcess(join(workDir, 's3'));
  try {
    const admin = cluster.connection;
    await sql(admin, 'postgres', 'CREATE DATABASE bench');
    await sql(
      admin,
      'bench',
      'create table payloads (id bigint primary key, at timestamptz, body text, blob bytea, meta jsonb)',
    );
    const filling = performance.now();
    // A first batch measures the bytes a row takes, so the table lands near the size asked for.
    await sql(admin, 'bench', FILL(1, PROBE_ROWS));
    const probeBytes = Number(await sql(admin, 'bench', "select pg_total_relation_size('payloads')"));
    const rows = Math.max(PROBE_ROWS, Math.round((sizeMiB * MiB * PROBE_ROWS) / probeBytes));
    for (let done = PROBE_ROWS; done < rows; done += BATCH_ROWS) {
      await sql(admin, 'bench', FILL(done + 1, Math.min(rows, done + BATCH_ROWS)));
    }
    await sql(admin, 'bench', 'vacuum analyze payloads');
    const tableBytes = Number(await sql(admin, 'bench', "select pg_total_relation_size('payloads')"));
    const fillMs = Math.round(performance.now() - filling);

    const client = createClient.s3({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1' });
    const bucket = 'slipway-bench-backups';
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const connection = { ...admin, dbname: 'bench' };
    const dumpFile = join(workDir, 'baseline.dump');

    const baselineMs: number[] = [];
    const oursMs: number[] = [];
    const streamOnlyMs: number[] = [];
    // This process's CPU alone: steadier than wall time on a shared machine, and s3rver is not in it.
    const oursCpuMs: number[] = [];
    const s3rverCpuMs: number[] = [];
    let baselineBytes = 0;
    let ourBytes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await exec('pg_dump', ['--format=custom', '--no-password', `--file=${dumpFile}`], {
        env: environment(connection, 'bench'),
      });
      baselineMs.push(Math.round(performance.now() - started));
      baselineBytes = statSync(dumpFile).size;
      rmSync(dumpFile);

      const streamStarted = performance.now();
      await dumpThroughSha256(connection);
      streamOnlyMs.push(Math.round(performance.now() - streamStarted));

      const cpu = process.cpuUsage();
      const s3rverCpu = s3.cpuMs();
      const oursStarted = performance.now();
      const result = await backupPostgres({
        connection,
        s3: client,
        bucket,
        prefix: `bench/round-${round}`,
      });
      oursMs.push(Math.round(performance.now() - oursStarted));
      const used = process.cpuUsage(cpu);
      oursCpuMs.push(Math.round((used.user + used.system) / 1000));
      s3rverCpuMs.push(s3.cpuMs() - s3rverCpu);
      ourBytes = result.bytes;
    }

    const baseline = median(baselineMs);
    const ours = median(oursMs);
    return {
      sizeMiB,
      rows,
      tableMiB: Math.round(tableBytes / MiB),
      fillMs,
      dumpMiB: Number((ourBytes / MiB).toFixed(1)),
      baselineDumpMiB: Number((baselineBytes / MiB).toFixed(1)),
      baselineMs,
      oursMs,
      streamOnlyMs,
      oursCpuMs,
      s3rverCpuMs,
      medianStreamOnlyMs: median(streamOnlyMs),
      medianBaselineMs: baseline,
      medianOursMs: ours,
      // ≥ 1 means we are as fast as pg_dump to a local file; the goal is ≥ 0.9.
      ratio: ratio(baseline, ours),
      caveat:
        'backupPostgres includes the version checks (psql, pg_dump --version), SHA-256 and the multipart upload to s3rver, a separate process on this machine competing for the same CPUs; the baseline writes a local file',
    };
  } finally {
    await s3.close();
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function describePostgresBench(result: Awaited<ReturnType<typeof benchPostgres>>): string {
  const rows = result.baselineMs.map((baseline, round) => [
    String(round + 1),
    `${baseline} ms`,
    `${result.streamOnlyMs[round] ?? 0} ms`,
    `${result.oursMs[round] ?? 0} ms`,
    ratio(baseline, result.oursMs[round] ?? 0),
  ]);
  return [
    `Table: ${result.tableMiB} MiB (${result.rows.toLocaleString('en')} rows), dump ${result.dumpMiB} MiB (pg_dump -f: ${result.baselineDumpMiB} MiB)`,
    textTable(
      ['round', 'pg_dump -Fc -f FILE', 'pg_dump | SHA-256 (no upload)', 'backupPostgres → s3rver', 'ratio'],
      rows,
    ),
    `Median: ${result.medianBaselineMs} ms vs ${result.medianOursMs} ms → ${result.ratio} (goal ≥ 0.90×); without the upload ${result.medianStreamOnlyMs} ms → ${ratio(result.medianBaselineMs, result.medianStreamOnlyMs)}`,
    `CPU per backupPostgres: this process ${result.oursCpuMs.join(', ')} ms; s3rver ${result.s3rverCpuMs.join(', ')} ms`,
    `Caveat: ${result.caveat}.`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { 'size-mib': { type: 'string' } } });
  const sizeMiB = values['size-mib'] ? Number(values['size-mib']) : undefined;
  const result = await benchPostgres(sizeMiB ? { sizeMiB } : {});
  console.log(describePostgresBench(result));
}
