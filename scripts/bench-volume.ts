/**
 * Volume benchmark: backupVolume and restoreVolume against GNU tar on the same tree, in the same
 * run, pairs interleaved (ours, tar, ours, tar…), because these machines are shared and noisy.
 *
 * The tree mixes what a volume holds: many small text files in nested directories, small random
 * files, medium logs and media, a few files larger than an S3 part (half text, half random),
 * symlinks (to files, to a directory, one dangling), empty files and an empty directory. It is
 * built as four shards of the same mix, so the first shard alone is the same tree at a quarter of
 * the size: peak RSS is measured at both sizes, and over the first and second half of the larger
 * run, to show whether it grows with the tree.
 *
 * Every backup and restore of ours runs in a child process, so the harness's memory is not
 * counted: this file bundled into one with esbuild, run by a bare `node`, as the worker image runs
 * its bundle (no tsx, whose loader thread alone costs about 40 MiB). The child reports the time of
 * the call itself, its CPU, its RSS just before the call and its peak RSS
 * (process.resourceUsage().maxRSS, module loading included). S3 is s3rver, in the harness process:
 * it writes every part to disk and reassembles them at completion, on the same CPUs, so its
 * work is inside our figure. `tar -czf - DIR > /dev/null` pays for neither; `tar -xzf` extracts the
 * same archive from a local file. bench-postgres.ts runs its backups through the same child.
 *
 *   npx tsx scripts/bench-volume.ts [--size-mib 1024] [--rounds 3] [--sink]
 */
import { type ChildProcess, type ChildProcessByStdio, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { s3ClientConfig } from '../lib/aws/client-config';
import { createS3Client } from '../lib/aws/clients/s3';
import { markdownTable, median, textTable } from '../lib/bench/stats';
import { backupPostgres, type PgConnection } from '../lib/worker/postgres';
import { backupVolume, restoreVolume } from '../lib/worker/volume';

const ROOT = resolve(import.meta.dirname ?? '.', '..');
const SCRIPT = join(ROOT, 'scripts', 'bench-volume.ts');
export const MiB = 1024 * 1024;
const BUCKET = 'slipway-bench-volumes';
/** backupVolume's smallest part, and so its part size for any tree under about 70 GiB. */
export const PART_SIZE = 8 * MiB;
const SHARDS = 4;
const FILES_PER_DIR = 40;
const WRITES_IN_FLIGHT = 16;
export const VOLUME_GOALS = { archiveRatio: 0.8, peakRssMiB: 256, growth: 0.1 } as const;

// ---------------------------------------------------------------------------------------------
// Pure helpers: the tree plan and the paired comparison (unit-tested)

/** mulberry32: the same plan on every run. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type Content = 'text' | 'log' | 'random';
export interface PlannedFile {
  path: string;
  size: number;
  content: Content;
}
export interface TreePlan {
  dirs: string[];
  files: PlannedFile[];
  symlinks: Array<{ path: string; target: string }>;
}

/** How a shard's bytes are split: [share, smallest, largest, content, directory]. */
const MIX: Array<[number, number, number, Content | 'alternate', string]> = [
  [0.22, 512, 16 * 1024, 'text', 'src'],
  [0.08, 1024, 64 * 1024, 'random', 'assets'],
  [0.2, 64 * 1024, 4 * MiB, 'log', 'logs'],
  [0.15, 64 * 1024, 4 * MiB, 'random', 'media'],
  // Larger than a part, so they span parts; text and random in turn.
  [0.35, Math.round(1.5 * PART_SIZE), 5 * PART_SIZE, 'alternate', 'data'],
];

/**
 * A tree of about `sizeMiB`, as `shards` directories of the same mix. Small files go 40 to a
 * directory, two levels below their kind's (src/pkg-1/mod-3/file-12.txt); every leaf directory has
 * a symlink to a file of the one before it. Sizes are drawn from a seeded generator.
 */
export function planTree(sizeMiB: number, shards = SHARDS, seed = 42): TreePlan {
  const next = random(seed);
  const between = (low: number, high: number) => Math.floor(low + next() * (high - low + 1));
  const plan: TreePlan = { dirs: [], files: [], symlinks: [] };
  const budget = (sizeMiB * MiB) / shards;
  for (let shard = 0; shard < shards; shard += 1) {
    const base = `shard-${shard}`;
    plan.dirs.push(base, `${base}/tmp`);
    for (const [share, low, high, content, kind] of MIX) {
      const dir = `${base}/${kind}`;
      plan.dirs.push(dir);
      let left = Math.round(budget * share);
      let leaf = '';
      let previousFile = '';
      for (let index = 0; left > 0; index += 1) {
        const size = Math.min(left, between(low, high));
        left -= size;
        let parent = dir;
        if (high <= 64 * 1024) {
          // Small files: nested, a new leaf directory every FILES_PER_DIR files.
          const leafIndex = Math.floor(index / FILES_PER_DIR);
          parent = `${dir}/pkg-${Math.floor(leafIndex / 8)}/mod-${leafIndex % 8}`;
          if (parent !== leaf) {
            if (leafIndex % 8 === 0) plan.dirs.push(posix.dirname(parent));
            plan.dirs.push(parent);
            if (previousFile) {
              plan.symlinks.push({ path: `${parent}/previous.link`, target: posix.relative(parent, previousFile) });
            }
            leaf = parent;
          }
        }
        const kindOf: Content = content === 'alternate' ? (index % 2 === 0 ? 'random' : 'log') : content;
        const extension = kindOf === 'random' ? 'bin' : kindOf === 'log' ? 'log' : 'txt';
        const path = `${parent}/file-${index}.${extension}`;
        plan.files.push({ path, size, content: kindOf });
        previousFile = path;
      }
    }
    plan.files.push({ path: `${base}/src/.keep`, size: 0, content: 'text' });
    plan.files.push({ path: `${base}/logs/.keep`, size: 0, content: 'log' });
    plan.symlinks.push({ path: `${base}/current-logs`, target: 'logs' });
    plan.symlinks.push({ path: `${base}/dangling.link`, target: 'gone/away.txt' });
  }
  return plan;
}

export interface PlanSummary {
  files: number;
  bytes: number;
  symlinks: number;
  dirs: number;
  /** Files larger than one S3 part. */
  overPart: number;
  /** Share of the bytes in random (incompressible) files. */
  randomShare: number;
}

export function summarizePlan(plan: TreePlan, under = ''): PlanSummary {
  const inside = (path: string) => under === '' || path === under || path.startsWith(`${under}/`);
  const files = plan.files.filter((file) => inside(file.path));
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  const randomBytes = files.filter((file) => file.content === 'random').reduce((sum, file) => sum + file.size, 0);
  return {
    files: files.length,
    bytes,
    symlinks: plan.symlinks.filter((link) => inside(link.path)).length,
    dirs: plan.dirs.filter(inside).length,
    overPart: files.filter((file) => file.size > PART_SIZE).length,
    randomShare: bytes === 0 ? 0 : randomBytes / bytes,
  };
}

/**
 * Rounds of one pair, ours against a baseline: the ratio is baseline time ÷ our time (so above 1
 * is faster than the baseline, and it is also our throughput ÷ the baseline's), taken per round
 * and then the median, since each round's two runs shared the machine's state.
 */
export interface Pair {
  baselineMs: number[];
  oursMs: number[];
}

export function roundRatios(pair: Pair): number[] {
  return pair.baselineMs.map((baseline, round) => baseline / (pair.oursMs[round] ?? Number.NaN));
}

export const pairedRatio = (pair: Pair): number => median(roundRatios(pair));

export const verdict = (ok: boolean) => (ok ? 'pass' : 'miss');

/** `2 CPUs`: the machine the figures were measured on. */
export const cpusLine = () => `${availableParallelism()} CPUs`;

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export const throughput = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(1)} MiB/s`;

/** `0.91× (0.88, 0.91, 0.95)`: the median and each round's ratio. */
export function describeRatio(pair: Pair): string {
  const rounds = roundRatios(pair).map((value) => value.toFixed(2));
  return `${pairedRatio(pair).toFixed(2)}× (${rounds.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Temporary directories, removed on the way out even when a signal ends the run (which also ends
// the children running then, each in a process group of its own: tar's gzip with tar)

const temporaries = new Set<string>();
const running = new Set<ChildProcess>();
let signalsHandled = false;

export function temporaryDir(prefix: string): string {
  if (!signalsHandled) {
    signalsHandled = true;
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        for (const child of running) killGroup(child);
        for (const path of temporaries) rmSync(path, { recursive: true, force: true });
        process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
      });
    }
  }
  const path = mkdtempSync(join(tmpdir(), prefix));
  temporaries.add(path);
  return path;
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** Runs a child in its own process group, which a signal to the harness ends with it. */
function spawnTracked(
  file: string,
  args: string[],
  options: SpawnOptions,
): ChildProcessByStdio<null, Readable, Readable> {
  const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  child.once('close', () => running.delete(child));
  return child;
}

export async function removeTemporary(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  temporaries.delete(path);
}

// ---------------------------------------------------------------------------------------------
// Child processes: ours runs in one, so its peak RSS is its own

export interface ChildReport<T> {
  /** The call itself, measured in the child: module loading and client set-up are not in it. */
  ms: number;
  /** CPU of the whole child during the call, all threads (zlib's included). */
  cpuMs: number;
  /** RSS just before the call: node, tsx, the SDK and the worker's modules loaded. */
  restRssMiB: number;
  /** ru_maxrss: the highest RSS the child ever had. */
  peakRssMiB: number;
  /** Start to exit, measured by the parent. */
  processMs: number;
  /** CPU of the parent meanwhile: s3rver's, as the harness does nothing else. */
  parentCpuMs: number;
  value: T;
}

const CHILD_JOB = 'SLIPWAY_BENCH_JOB';

/** Child side: runs `action` and prints its report as the last line of stdout. */
export async function reportFromChild<T>(action: () => Promise<T>): Promise<void> {
  const restRss = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await action();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const report: Omit<ChildReport<T>, 'processMs' | 'parentCpuMs'> = {
    ms,
    cpuMs: (used.user + used.system) / 1000,
    restRssMiB: restRss / MiB,
    // Kilobytes on Linux.
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    value,
  };
  process.stdout.write(`\n${JSON.stringify(report)}\n`);
}

export function childJob<T>(): T {
  const job = process.env[CHILD_JOB];
  if (!job) throw new Error(`${CHILD_JOB} is not set`);
  return JSON.parse(job) as T;
}

/**
 * This file as the worker image runs its bundle: one ESM file, minified, run by a bare node. The
 * harness's own modules (s3rver, the throwaway cluster) stay out of it: they are only imported
 * dynamically, by code the child never runs.
 */
export async function bundleChild(dir: string): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(dir, 'bench-child.mjs');
  await build({
    entryPoints: [SCRIPT],
    outfile,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    keepNames: true,
    banner: {
      js: "import { createRequire as __slipwayCreateRequire } from 'node:module'; const require = __slipwayCreateRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'harness-only',
        setup(plugin) {
          plugin.onResolve({ filter: /\/(local\/servers|support\/postgres)$/ }, (args) => ({
            path: args.path,
            external: true,
          }));
        },
      },
    ],
    logLevel: 'error',
  });
  return outfile;
}

/** Parent side: runs the bundle with `--child` and the job in its environment, and reads its report. */
export async function runChild<T>(bundle: string, job: ChildJob): Promise<ChildReport<T>> {
  const started = performance.now();
  const parentCpu = process.cpuUsage();
  const child = spawnTracked(process.execPath, [bundle, '--child'], {
    cwd: ROOT,
    env: { ...process.env, [CHILD_JOB]: JSON.stringify(job), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await new Promise<number | null>((done, failed) => {
    child.once('error', failed);
    child.once('close', done);
  });
  const processMs = performance.now() - started;
  const parentCpu2 = process.cpuUsage(parentCpu);
  if (code !== 0) {
    const tail = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-8).join('\n');
    throw new Error(`the ${job.kind} child exited with ${code}: ${tail}`);
  }
  const last = Buffer.concat(out).toString('utf8').trim().split('\n').pop() ?? '';
  const report = JSON.parse(last) as Omit<ChildReport<T>, 'processMs' | 'parentCpuMs'>;
  return { ...report, processMs, parentCpuMs: (parentCpu2.user + parentCpu2.system) / 1000 };
}

/** `0m8.910000s 0m0.478000s`, the children's line of sh's `times`, in ms. */
export function parseTimes(line: string): number {
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)];
  if (parts.length !== 2) throw new Error(`not a line of times: ${line}`);
  return parts.reduce((sum, [, minutes, secs]) => sum + (Number(minutes) * 60 + Number(secs)) * 1000, 0);
}

/**
 * A baseline command's wall time and CPU (its own and its children's, gzip's for tar -z), through
 * sh's `times`. Its stdout goes to /dev/null, opened by sh, not through a pipe to node.
 */
export async function timeCommand(
  file: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ ms: number; cpuMs: number }> {
  const started = performance.now();
  const child = spawnTracked('sh', ['-c', '"$@" > /dev/null && times', 'sh', file, ...args], env ? { env } : {});
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await new Promise<number | null>((done, failed) => {
    child.once('error', failed);
    child.once('close', done);
  });
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${code}: ${Buffer.concat(err).toString()}`);
  const lines = Buffer.concat(out).toString('utf8').trim().split('\n');
  return { ms, cpuMs: parseTimes(lines[lines.length - 1] ?? '') };
}

/** s3rver in the harness process, with a bucket, and a client of it. */
export async function startS3(dataDir: string, bucket: string) {
  // Imported here, so the children, which import this module too, do not load s3rver.
  const { startS3rver } = await import('../lib/local/servers');
  const server = await startS3rver(dataDir);
  const s3 = createS3Client({ AWS_ENDPOINT_URL_S3: server.endpoint, AWS_REGION: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint: server.endpoint,
    s3,
    close: async () => {
      s3.destroy();
      await server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Building the tree

const WORDS =
  'deploy release rollback service task image health probe backup volume the a of to and in is for on with that this be by from as manifest archive restore cluster region bucket policy secret token environment revision container'.split(
    ' ',
  );

/** 1 MiB of prose-like text and 1 MiB of log lines; files are slices of them at seeded offsets. */
function textPools(next: () => number) {
  const pick = () => WORDS[Math.floor(next() * WORDS.length)] as string;
  const prose: string[] = [];
  for (let length = 0; length < MiB; ) {
    const line = `${Array.from({ length: 4 + Math.floor(next() * 10) }, pick).join(' ')}${next() < 0.2 ? '.\n\n' : '\n'}`;
    prose.push(line);
    length += line.length;
  }
  const logs: string[] = [];
  for (let length = 0, line = 0; length < MiB; line += 1) {
    const entry = `2026-11-22T03:${String(Math.floor(line / 60) % 60).padStart(2, '0')}:${String(line % 60).padStart(2, '0')}.${String(Math.floor(next() * 1000)).padStart(3, '0')}Z ${next() < 0.9 ? 'INFO' : 'WARN'} request=${Math.floor(next() * 1e9).toString(16)} ${pick()} ${pick()} status=${next() < 0.95 ? 200 : 503} took=${Math.floor(next() * 900)}ms\n`;
    logs.push(entry);
    length += entry.length;
  }
  return { text: Buffer.from(prose.join('')), log: Buffer.from(logs.join('')) };
}

function slice(pool: Buffer, offset: number, size: number): Buffer {
  if (size === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (let left = size, at = offset % pool.byteLength; left > 0; at = 0) {
    const part = pool.subarray(at, Math.min(pool.byteLength, at + left));
    parts.push(part);
    left -= part.byteLength;
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
}

async function writeInChunks(path: string, size: number, chunk: (at: number, size: number) => Buffer) {
  const out = createWriteStream(path);
  for (let at = 0; at < size; at += 4 * MiB) {
    if (!out.write(chunk(at, Math.min(4 * MiB, size - at))))
      await new Promise<void>((done) => out.once('drain', () => done()));
  }
  out.end();
  await new Promise<void>((done, failed) => {
    out.once('finish', done);
    out.once('error', failed);
  });
}

export async function buildTree(root: string, plan: TreePlan): Promise<void> {
  const next = random(7);
  const pools = textPools(next);
  for (const dir of plan.dirs) await mkdir(join(root, dir), { recursive: true });
  const write = async (file: PlannedFile, offset: number) => {
    const path = join(root, file.path);
    if (file.content === 'random') {
      if (file.size <= 4 * MiB) await writeFile(path, randomBytes(file.size));
      else await writeInChunks(path, file.size, (_at, size) => randomBytes(size));
    } else {
      const pool = file.content === 'log' ? pools.log : pools.text;
      if (file.size <= 4 * MiB) await writeFile(path, slice(pool, offset, file.size));
      else await writeInChunks(path, file.size, (at, size) => slice(pool, offset + at, size));
    }
  };
  const queue = plan.files.map((file) => ({ file, offset: Math.floor(next() * MiB) }));
  await Promise.all(
    Array.from({ length: WRITES_IN_FLIGHT }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await write(item.file, item.offset);
    }),
  );
  for (const link of plan.symlinks) await symlink(link.target, join(root, link.path));
  // Written back now, not during the first round.
  await timeCommand('sync', []);
}

// ---------------------------------------------------------------------------------------------
// The benchmark

export interface BackupJob {
  kind: 'backup';
  dir: string;
  /** The tree's file bytes, to tell the first half of the run from the second. */
  treeBytes: number;
  endpoint: string | null;
  bucket: string;
  prefix: string;
}
export interface RestoreJob {
  kind: 'restore';
  endpoint: string;
  bucket: string;
  manifestKey: string;
  target: string;
}
export interface PostgresJob {
  kind: 'backup-postgres';
  connection: PgConnection;
  /** null: the in-process sink. */
  endpoint: string | null;
  bucket: string;
  prefix: string;
  binDir: string;
}
export type ChildJob = BackupJob | RestoreJob | PostgresJob;

interface BackupValue {
  archiveKey: string;
  manifestKey: string;
  archiveBytes: number;
  files: number;
  bytes: number;
  /** Peak RSS sampled while the first half of the tree's bytes was read, and while the second was. */
  halvesRssMiB: [number, number];
}

const SAMPLE_EVERY_MS = 25;

/** An S3 client whose requests never leave the process: bodies are read and thrown away. */
function sinkClient(): S3Client {
  const respond = (statusCode: number, headers: Record<string, string> = {}, xml = '') => ({
    response: { statusCode, reason: '', headers, body: Readable.from(xml ? [Buffer.from(xml)] : []) },
  });
  const devnull = () =>
    new Writable({
      write(_chunk: Buffer, _encoding, callback) {
        callback();
      },
    });
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
    async handle(request: { method: string; query?: Record<string, unknown>; body?: unknown }) {
      if (request.body instanceof Readable) await pipeline(request.body, devnull());
      const query = request.query ?? {};
      // HEAD answers 404 so the overwrite check passes; multipart calls get the minimal XML the SDK parses.
      if (request.method === 'HEAD') return respond(404);
      if (request.method === 'POST' && 'uploads' in query) {
        return respond(
          200,
          {},
          '<InitiateMultipartUploadResult><UploadId>sink</UploadId></InitiateMultipartUploadResult>',
        );
      }
      if (request.method === 'POST' && 'uploadId' in query) {
        return respond(200, {}, '<CompleteMultipartUploadResult><ETag>"sink"</ETag></CompleteMultipartUploadResult>');
      }
      if (request.method === 'DELETE') return respond(204);
      return respond(200, { etag: '"sink"' });
    },
  };
  const config = s3ClientConfig({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' });
  return new S3Client({ ...config, requestHandler: handler as never });
}

async function childMain(): Promise<void> {
  const job = childJob<ChildJob>();
  const s3 = job.endpoint
    ? createS3Client({ AWS_ENDPOINT_URL_S3: job.endpoint, AWS_REGION: 'us-east-1' })
    : sinkClient();
  if (job.kind === 'backup') {
    await reportFromChild(async () => {
      // RSS over one run: memory that grew with the tree would peak higher in the second half.
      let read = 0;
      const halves: [number, number] = [0, 0];
      const sample = () => {
        const half = read < job.treeBytes / 2 ? 0 : 1;
        halves[half] = Math.max(halves[half], process.memoryUsage.rss() / MiB);
      };
      const sampler = setInterval(sample, SAMPLE_EVERY_MS);
      try {
        const result = await backupVolume({
          dir: job.dir,
          s3,
          bucket: job.bucket,
          prefix: job.prefix,
          onProgress: (progress) => {
            read = progress.bytes;
          },
        });
        sample();
        const { archiveKey, manifestKey, archiveBytes, files, bytes } = result;
        return { archiveKey, manifestKey, archiveBytes, files, bytes, halvesRssMiB: halves } satisfies BackupValue;
      } finally {
        clearInterval(sampler);
      }
    });
  } else if (job.kind === 'backup-postgres') {
    await reportFromChild(async () => {
      const { bytes, serverVersion } = await backupPostgres({
        connection: job.connection,
        s3,
        bucket: job.bucket,
        prefix: job.prefix,
        binDir: job.binDir,
      });
      return { bytes, serverVersion };
    });
  } else {
    await reportFromChild(async () => {
      const { files, bytes } = await restoreVolume({
        s3,
        bucket: job.bucket,
        manifestKey: job.manifestKey,
        target: job.target,
      });
      return { files, bytes };
    });
  }
  s3.destroy();
}

export interface VolumeBenchOptions {
  sizeMiB?: number;
  rounds?: number;
  /** Also back up to an in-process sink (no S3 server), to separate the worker's cost from s3rver's. */
  sink?: boolean;
  log?: (line: string) => void;
}

export interface VolumeBenchResult {
  sizeMiB: number;
  rounds: number;
  tree: PlanSummary;
  quarter: PlanSummary;
  buildMs: number;
  archiveBytes: number;
  backup: Pair;
  /** CPU per run: ours (all its threads), s3rver's meanwhile, and the baseline's (tar and gzip). */
  cpu: Record<'archive' | 'restore', { ours: number[]; s3rver: number[]; baseline: number[] }>;
  sink?: Pair;
  processMs: number[];
  restore: Pair;
  memory: {
    full: { restRssMiB: number[]; peakRssMiB: number[]; halvesRssMiB: Array<[number, number]> };
    quarter: { restRssMiB: number[]; peakRssMiB: number[] };
  };
  totalMs: number;
}

export async function benchVolume(options: VolumeBenchOptions = {}): Promise<VolumeBenchResult> {
  const sizeMiB = options.sizeMiB ?? 1_024;
  const rounds = options.rounds ?? 3;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const began = performance.now();
  const work = temporaryDir('slipway-bench-volume-');
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;
  try {
    const bundle = await bundleChild(work);
    s3 = await startS3(join(work, 's3'), BUCKET);
    const plan = planTree(sizeMiB);
    const tree = join(work, 'tree');
    const quarterDir = join(tree, 'shard-0');
    const building = performance.now();
    await buildTree(tree, plan);
    const buildMs = performance.now() - building;
    log(`volume: built ${summarizePlan(plan).files} files in ${seconds(buildMs)}`);

    const backup: Pair = { baselineMs: [], oursMs: [] };
    const sink: Pair = { baselineMs: [], oursMs: [] };
    const cpu: VolumeBenchResult['cpu'] = {
      archive: { ours: [], s3rver: [], baseline: [] },
      restore: { ours: [], s3rver: [], baseline: [] },
    };
    const processMs: number[] = [];
    const memory: VolumeBenchResult['memory'] = {
      full: { restRssMiB: [], peakRssMiB: [], halvesRssMiB: [] },
      quarter: { restRssMiB: [], peakRssMiB: [] },
    };
    let first: BackupValue | undefined;
    const endpoint = s3.endpoint;
    const backupJob = (dir: string, prefix: string, to: string | null): BackupJob => ({
      kind: 'backup',
      dir,
      treeBytes: summarizePlan(plan, dir === tree ? '' : 'shard-0').bytes,
      endpoint: to,
      bucket: BUCKET,
      prefix,
    });
    for (let round = 0; round < rounds; round += 1) {
      const ours = await runChild<BackupValue>(bundle, backupJob(tree, `full/${round}`, endpoint));
      const tar = await timeCommand('tar', ['-czf', '-', '-C', tree, '.']);
      backup.oursMs.push(ours.ms);
      backup.baselineMs.push(tar.ms);
      cpu.archive.ours.push(ours.cpuMs);
      cpu.archive.s3rver.push(ours.parentCpuMs);
      cpu.archive.baseline.push(tar.cpuMs);
      processMs.push(ours.processMs);
      memory.full.restRssMiB.push(ours.restRssMiB);
      memory.full.peakRssMiB.push(ours.peakRssMiB);
      memory.full.halvesRssMiB.push(ours.value.halvesRssMiB);
      first ??= ours.value;
      const quarter = await runChild<BackupValue>(bundle, backupJob(quarterDir, `quarter/${round}`, endpoint));
      memory.quarter.restRssMiB.push(quarter.restRssMiB);
      memory.quarter.peakRssMiB.push(quarter.peakRssMiB);
      if (options.sink) {
        const toSink = await runChild<BackupValue>(bundle, backupJob(tree, `sink/${round}`, null));
        sink.oursMs.push(toSink.ms);
        sink.baselineMs.push(tar.ms);
      }
      log(
        `volume: backup round ${round + 1}: ours ${seconds(ours.ms)} (peak ${ours.peakRssMiB.toFixed(0)} MiB, quarter ${quarter.peakRssMiB.toFixed(0)} MiB), tar ${seconds(tar.ms)}`,
      );
    }
    if (!first) throw new Error('no backup was taken');

    const archive = join(work, 'archive.tar.gz');
    const object = await s3.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: first.archiveKey }));
    await pipeline(object.Body as Readable, createWriteStream(archive));
    const restore: Pair = { baselineMs: [], oursMs: [] };
    for (let round = 0; round < rounds; round += 1) {
      const byUs = join(work, `restored-ours-${round}`);
      const ours = await runChild<{ files: number; bytes: number }>(bundle, {
        kind: 'restore',
        endpoint,
        bucket: BUCKET,
        manifestKey: first.manifestKey,
        target: byUs,
      } satisfies RestoreJob);
      await rm(byUs, { recursive: true, force: true });
      const byTar = join(work, `restored-tar-${round}`);
      await mkdir(byTar);
      const tar = await timeCommand('tar', ['-xzf', archive, '-C', byTar]);
      await rm(byTar, { recursive: true, force: true });
      restore.oursMs.push(ours.ms);
      restore.baselineMs.push(tar.ms);
      cpu.restore.ours.push(ours.cpuMs);
      cpu.restore.s3rver.push(ours.parentCpuMs);
      cpu.restore.baseline.push(tar.cpuMs);
      log(`volume: restore round ${round + 1}: ours ${seconds(ours.ms)}, tar ${seconds(tar.ms)}`);
    }

    return {
      sizeMiB,
      rounds,
      tree: summarizePlan(plan),
      quarter: summarizePlan(plan, 'shard-0'),
      buildMs,
      archiveBytes: first.archiveBytes,
      backup,
      cpu,
      ...(options.sink ? { sink } : {}),
      processMs,
      restore,
      memory,
      totalMs: performance.now() - began,
    };
  } finally {
    await s3?.close();
    await removeTemporary(work);
  }
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** The report section's tables, and the lines printed to stdout. */
export function describeVolumeBench(result: VolumeBenchResult) {
  const bytes = result.tree.bytes;
  const archiveRatio = pairedRatio(result.backup);
  const backupRows = [
    [
      `archive: backupVolume → s3rver vs \`tar -czf - DIR > /dev/null\``,
      `${seconds(median(result.backup.baselineMs))}, ${throughput(bytes, median(result.backup.baselineMs))}`,
      `${seconds(median(result.backup.oursMs))}, ${throughput(bytes, median(result.backup.oursMs))}`,
      describeRatio(result.backup),
      `≥ ${VOLUME_GOALS.archiveRatio.toFixed(2)}×`,
      verdict(archiveRatio >= VOLUME_GOALS.archiveRatio),
    ],
    ...(result.sink
      ? [
          [
            'archive: backupVolume → a sink in its process (no S3 server) vs the same tar runs',
            `${seconds(median(result.sink.baselineMs))}, ${throughput(bytes, median(result.sink.baselineMs))}`,
            `${seconds(median(result.sink.oursMs))}, ${throughput(bytes, median(result.sink.oursMs))}`,
            describeRatio(result.sink),
            'context',
            '',
          ],
        ]
      : []),
    [
      'restore: restoreVolume ← s3rver vs `tar -xzf FILE`',
      `${seconds(median(result.restore.baselineMs))}, ${throughput(bytes, median(result.restore.baselineMs))}`,
      `${seconds(median(result.restore.oursMs))}, ${throughput(bytes, median(result.restore.oursMs))}`,
      describeRatio(result.restore),
      'reported',
      '',
    ],
  ];
  const backupHeader = ['', 'baseline (median)', 'ours (median)', 'ratio: median (rounds)', 'goal', ''];

  const peak = (samples: number[]) => Math.max(...samples);
  const quarterPeak = peak(result.memory.quarter.peakRssMiB);
  const fullPeak = peak(result.memory.full.peakRssMiB);
  // Medians: a round's peak moves by some MiB with when the collector runs.
  const quarterMedian = median(result.memory.quarter.peakRssMiB);
  const fullMedian = median(result.memory.full.peakRssMiB);
  const growth = fullMedian / quarterMedian - 1;
  const firstHalf = median(result.memory.full.halvesRssMiB.map(([first]) => first));
  const secondHalf = median(result.memory.full.halvesRssMiB.map(([, second]) => second));
  const halvesGrowth = secondHalf / firstHalf - 1;
  const percent = (change: number) => `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
  const memoryRows = [
    [
      `${mib(result.quarter.bytes)} (${result.quarter.files.toLocaleString('en')} files)`,
      median(result.memory.quarter.restRssMiB).toFixed(0),
      result.memory.quarter.peakRssMiB.map((value) => value.toFixed(0)).join(', '),
      quarterPeak.toFixed(0),
      `< ${VOLUME_GOALS.peakRssMiB} MiB`,
      verdict(quarterPeak < VOLUME_GOALS.peakRssMiB),
    ],
    [
      `${mib(bytes)} (${result.tree.files.toLocaleString('en')} files)`,
      median(result.memory.full.restRssMiB).toFixed(0),
      result.memory.full.peakRssMiB.map((value) => value.toFixed(0)).join(', '),
      fullPeak.toFixed(0),
      `< ${VOLUME_GOALS.peakRssMiB} MiB`,
      verdict(fullPeak < VOLUME_GOALS.peakRssMiB),
    ],
    [
      `${mib(result.quarter.bytes)} → ${mib(bytes)}, median peaks`,
      '',
      `${quarterMedian.toFixed(0)} → ${fullMedian.toFixed(0)}`,
      percent(growth),
      'reported',
      '',
    ],
    [
      `${mib(bytes)}, first half of its bytes → second half, median peaks`,
      '',
      `${firstHalf.toFixed(0)} → ${secondHalf.toFixed(0)}`,
      percent(halvesGrowth),
      `flat: within ${(VOLUME_GOALS.growth * 100).toFixed(0)}%`,
      verdict(halvesGrowth <= VOLUME_GOALS.growth),
    ],
  ];
  const memoryHeader = ['tree backed up', 'RSS at rest MiB', 'peak RSS MiB (rounds)', 'highest', 'goal', ''];
  const startMs = median(result.processMs.map((process, round) => process - (result.backup.oursMs[round] ?? 0)));
  const treeLine = `${mib(bytes)} in ${result.tree.files.toLocaleString('en')} files, ${result.tree.dirs.toLocaleString('en')} directories and ${result.tree.symlinks.toLocaleString('en')} symlinks; ${result.tree.overPart} files larger than one ${mib(PART_SIZE)} part; ${(result.tree.randomShare * 100).toFixed(0)}% of the bytes random, the rest text; archive ${mib(result.archiveBytes)}.`;
  const cpuOf = (samples: { ours: number[]; s3rver: number[]; baseline: number[] }) =>
    `ours ${seconds(median(samples.ours))} (all its threads), s3rver ${seconds(median(samples.s3rver))}, tar and gzip ${seconds(median(samples.baseline))}`;
  const notes = `CPU, medians: archive ${cpuOf(result.cpu.archive)}; restore ${cpuOf(result.cpu.restore)}. On ${cpusLine()}, what ours and s3rver use beyond tar's is time taken from the compressor. Starting our process (node, the bundle, the SDK) took another ${seconds(startMs)} each time, not counted in its time.`;
  return {
    backupHeader,
    backupRows,
    memoryHeader,
    memoryRows,
    treeLine,
    notes,
    text: [
      treeLine,
      textTable(backupHeader, backupRows),
      textTable(memoryHeader, memoryRows),
      notes,
      `volume bench: ${seconds(result.totalMs)} in all (tree built in ${seconds(result.buildMs)})`,
    ].join('\n\n'),
  };
}

export function volumeSection(result: VolumeBenchResult, date: string): string {
  const described = describeVolumeBench(result);
  return [
    `Measured ${date} on node ${process.version}, ${result.rounds} rounds, each ours then the baseline on the same tree (SLIPWAY_BENCH_VOLUME_MIB=${result.sizeMiB}).`,
    '',
    `The tree: ${described.treeLine} It is four shards of the same mix: small text files nested two levels deep, small random files, medium logs and media, files of 1.5 to 5 parts (text and random in turn), symlinks to files, to a directory and one dangling, empty files and an empty directory.`,
    '',
    `Archive is the time from calling backupVolume to its return: walk, tar, gzip (level 6), SHA-256, manifest, and a multipart upload to s3rver, which writes each part to disk and reassembles them at the end, in the harness process on the same ${cpusLine()}. The baseline is \`tar -czf - DIR > /dev/null\` on the same tree: it reads and compresses the same bytes and writes nothing. Restore is restoreVolume downloading from s3rver, checking every file against the manifest and moving the tree into place, against \`tar -xzf\` of the same archive from a local file. Throughput is the tree's size ÷ time. Each ratio is baseline time ÷ our time, taken per round, and its median: above 1.00× is faster than tar. The baseline figure beside it is the one to read it against, not an absolute target.`,
    '',
    markdownTable(described.backupHeader, described.backupRows),
    '',
    `Peak RSS is that of the process doing the backup, alone in a child process: this benchmark's file bundled into one minified file with esbuild and run by a bare \`node\`, as the worker image runs its bundle (so neither the harness nor tsx is in it). It is ru_maxrss, from process start to exit; RSS at rest is the same process after loading its modules, just before the call, the floor the backup adds to. The goal applies to the highest peak of any round. The smaller tree is the first shard of the larger, the same mix at a quarter of the size, so only the size changes. Runs of different lengths also differ in how far the heap and the allocator have settled, so the larger run's RSS is also sampled every ${SAMPLE_EVERY_MS} ms and split at the moment half its bytes had been read: memory that grew with the tree would peak higher in the second half, and that is what the flatness goal reads. A round's peak moves by some MiB with when the garbage collector runs, so these compare medians of rounds.`,
    '',
    markdownTable(described.memoryHeader, described.memoryRows),
    '',
    described.notes,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child') {
    await childMain();
  } else {
    const { values } = parseArgs({
      options: { 'size-mib': { type: 'string' }, rounds: { type: 'string' }, sink: { type: 'boolean' } },
    });
    const result = await benchVolume({
      sizeMiB: Number(values['size-mib'] ?? process.env.SLIPWAY_BENCH_VOLUME_MIB ?? 1024),
      rounds: Number(values.rounds ?? 3),
      sink: values.sink === true,
    });
    process.stdout.write(`${describeVolumeBench(result).text}\n`);
  }
}
