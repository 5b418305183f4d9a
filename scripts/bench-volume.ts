/**
 * Volume benchmark: backupVolume and restoreVolume against GNU tar on the same tree, in the same
 * run, rounds interleaved, because these machines are shared and noisy. The tree mixes many small
 * text files, MiB-size random files and MiB-size compressible ones.
 *
 * Backup is timed twice: against s3rver, the way the tests run, and against an in-process sink
 * that answers every S3 call at once. s3rver shares this process and writes every part to disk,
 * so the first figure includes its work; the second is the worker's own cost. `tar -czf` writes
 * to a pipe that discards its output, so it pays for neither. Peak RSS is sampled every 20 ms
 * against the RSS just before each backup; against s3rver that includes s3rver's own buffers.
 * Restores download from s3rver; `tar -xzf` extracts the same archive from a local file.
 * lib/aws/clients loads the X-Ray SDK, whose async hook taxes every promise in this process, as it
 * would in the worker; on this machine that is about a tenth of backupVolume's time on small files.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createClient, s3ClientConfig } from '../lib/aws/clients';
import { median, textTable } from '../lib/bench/stats';
import { startS3rver } from '../lib/local/servers';
import { backupVolume, restoreVolume, type VolumeBackupResult } from '../lib/worker/volume';

const MiB = 1024 * 1024;
const ROUNDS = 3;
const SAMPLE_EVERY_MS = 20;
const BUCKET = 'slipway-bench-volumes';
const SMALL_FILES_PER_DIR = 200;
const WORDS = ['deploy', 'release', 'rollback', 'service', 'task', 'image', 'health', 'probe', 'backup', 'volume'];

export interface VolumeBenchOptions {
  sizeMiB?: number;
}

export interface VolumeBenchResult {
  sizeMiB: number;
  files: number;
  treeBytes: number;
  archiveBytes: number;
  backup: {
    tarMs: number[];
    s3rverMs: number[];
    sinkMs: number[];
    /** Throughput against tar's, medians: above 1 is faster than tar. */
    ratioS3rver: number;
    ratioSink: number;
    tarMiBPerSecond: number;
    s3rverMiBPerSecond: number;
    sinkMiBPerSecond: number;
  };
  memory: { s3rverPeakGrowthMiB: number; sinkPeakGrowthMiB: number };
  restore: { tarMs: number[]; oursMs: number[]; ratio: number };
}

/** mulberry32: the same tree on every run. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** 30% of the bytes in 1–16 KiB text files, 40% in 1–4 MiB random files, 30% in 1–4 MiB logs. */
async function buildTree(root: string, sizeMiB: number): Promise<{ files: number; bytes: number }> {
  const next = random(42);
  const between = (low: number, high: number) => Math.floor(low + next() * (high - low));
  let files = 0;
  let bytes = 0;
  const add = async (path: string, content: Buffer | string) => {
    await writeFile(path, content);
    files += 1;
    bytes += Buffer.byteLength(content);
  };
  const text = (size: number) => {
    const lines: string[] = [];
    let length = 0;
    while (length < size) {
      const line = `${Array.from({ length: between(4, 12) }, () => WORDS[between(0, WORDS.length)]).join(' ')}\n`;
      lines.push(line);
      length += line.length;
    }
    return lines.join('').slice(0, size);
  };

  const small = sizeMiB * MiB * 0.3;
  let written = 0;
  for (let dir = 0; written < small; dir += 1) {
    const path = join(root, 'text', `dir-${dir}`);
    await mkdir(path, { recursive: true });
    for (let file = 0; file < SMALL_FILES_PER_DIR && written < small; file += 1) {
      const size = between(1_024, 16 * 1_024);
      await add(join(path, `note-${file}.txt`), text(size));
      written += size;
    }
  }
  await mkdir(join(root, 'media'), { recursive: true });
  for (let file = 0, total = 0; total < sizeMiB * MiB * 0.4; file += 1) {
    const size = between(MiB, 4 * MiB);
    await add(join(root, 'media', `blob-${file}.bin`), randomBytes(size));
    total += size;
  }
  await mkdir(join(root, 'logs'), { recursive: true });
  for (let file = 0, total = 0; total < sizeMiB * MiB * 0.3; file += 1) {
    const size = between(MiB, 4 * MiB);
    const lines: string[] = [];
    for (let length = 0, line = 0; length < size; line += 1) {
      const entry = `2026-11-22T03:${String(line % 60).padStart(2, '0')}:00Z INFO request ${between(0, 1e6)} took ${between(1, 900)}ms\n`;
      lines.push(entry);
      length += entry.length;
    }
    await add(join(root, 'logs', `app-${file}.log`), lines.join('').slice(0, size));
    total += size;
  }
  return { files, bytes };
}

/** An S3 client whose requests never leave the process: bodies are read and thrown away. */
function sinkClient(): S3Client {
  const respond = (statusCode: number, headers: Record<string, string> = {}, xml = '') => ({
    response: { statusCode, reason: '', headers, body: Readable.from(xml ? [Buffer.from(xml)] : []) },
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

async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await action();
  return { ms: performance.now() - started, value };
}

/** Wall time and the peak RSS above the RSS just before, sampled every 20 ms. */
async function withPeakRss<T>(action: () => Promise<T>): Promise<{ ms: number; value: T; growth: number }> {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, SAMPLE_EVERY_MS);
  try {
    const result = await timed(action);
    peak = Math.max(peak, process.memoryUsage().rss);
    return { ...result, growth: peak - baseline };
  } finally {
    clearInterval(sampler);
  }
}

function devnull(): Writable {
  return new Writable({
    write(_chunk: Buffer, _encoding, callback) {
      callback();
    },
  });
}

async function runTar(args: string[]): Promise<void> {
  const child = spawn('tar', args, { shell: false, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  await pipeline(child.stdout, devnull());
  const code = await exited;
  if (code !== 0) throw new Error(`tar ${args.join(' ')} exited with ${code}`);
}

export async function benchVolume(options: VolumeBenchOptions = {}): Promise<VolumeBenchResult> {
  const sizeMiB = options.sizeMiB ?? 1_024;
  const work = await mkdtemp(join(tmpdir(), 'slipway-bench-volume-'));
  const server = await startS3rver(join(work, 's3'));
  const s3 = createClient.s3({ AWS_ENDPOINT_URL_S3: server.endpoint, AWS_REGION: 'us-east-1' });
  const sink = sinkClient();
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const tree = join(work, 'tree');
    const { files, bytes } = await buildTree(tree, sizeMiB);

    const tarMs: number[] = [];
    const s3rverMs: number[] = [];
    const sinkMs: number[] = [];
    let s3rverGrowth = 0;
    let sinkGrowth = 0;
    let first: VolumeBackupResult | undefined;
    for (let round = 0; round < ROUNDS; round += 1) {
      tarMs.push((await timed(() => runTar(['-czf', '-', '-C', tree, '.']))).ms);
      // A distinct second per round, so no round is refused as a duplicate.
      const now = () => new Date(Date.UTC(2026, 10, 22, 3, 0, round));
      const toS3rver = await withPeakRss(() => backupVolume({ dir: tree, s3, bucket: BUCKET, prefix: 'bench', now }));
      s3rverMs.push(toS3rver.ms);
      s3rverGrowth = Math.max(s3rverGrowth, toS3rver.growth);
      first ??= toS3rver.value;
      const toSink = await withPeakRss(() =>
        backupVolume({ dir: tree, s3: sink, bucket: BUCKET, prefix: 'bench', now }),
      );
      sinkMs.push(toSink.ms);
      sinkGrowth = Math.max(sinkGrowth, toSink.growth);
    }
    if (!first) throw new Error('no backup was taken');

    const archiveFile = join(work, 'archive.tar.gz');
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: first.archiveKey }));
    await pipeline(object.Body as Readable, createWriteStream(archiveFile));
    const restoreTarMs: number[] = [];
    const restoreOursMs: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const byTar = join(work, `tar-${round}`);
      await mkdir(byTar);
      restoreTarMs.push((await timed(() => runTar(['-xzf', archiveFile, '-C', byTar]))).ms);
      await rm(byTar, { recursive: true, force: true });
      const byUs = join(work, `ours-${round}`);
      const manifestKey = first.manifestKey;
      restoreOursMs.push((await timed(() => restoreVolume({ s3, bucket: BUCKET, manifestKey, target: byUs }))).ms);
      await rm(byUs, { recursive: true, force: true });
    }

    const perSecond = (ms: number) => bytes / MiB / (ms / 1000);
    const round2 = (value: number) => Math.round(value * 100) / 100;
    return {
      sizeMiB,
      files,
      treeBytes: bytes,
      archiveBytes: first.archiveBytes,
      backup: {
        tarMs: tarMs.map(Math.round),
        s3rverMs: s3rverMs.map(Math.round),
        sinkMs: sinkMs.map(Math.round),
        ratioS3rver: round2(median(tarMs) / median(s3rverMs)),
        ratioSink: round2(median(tarMs) / median(sinkMs)),
        tarMiBPerSecond: round2(perSecond(median(tarMs))),
        s3rverMiBPerSecond: round2(perSecond(median(s3rverMs))),
        sinkMiBPerSecond: round2(perSecond(median(sinkMs))),
      },
      memory: { s3rverPeakGrowthMiB: round2(s3rverGrowth / MiB), sinkPeakGrowthMiB: round2(sinkGrowth / MiB) },
      restore: {
        tarMs: restoreTarMs.map(Math.round),
        oursMs: restoreOursMs.map(Math.round),
        ratio: round2(median(restoreTarMs) / median(restoreOursMs)),
      },
    };
  } finally {
    s3.destroy();
    sink.destroy();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

export function describeVolumeBench(result: VolumeBenchResult): string {
  const ms = (samples: number[]) => `${Math.round(median(samples))} ms (${samples.join(', ')})`;
  const rows = [
    ['backup: tar -czf to /dev/null', ms(result.backup.tarMs), `${result.backup.tarMiBPerSecond} MiB/s`, '1.00×'],
    [
      'backup: backupVolume to s3rver',
      ms(result.backup.s3rverMs),
      `${result.backup.s3rverMiBPerSecond} MiB/s`,
      `${result.backup.ratioS3rver.toFixed(2)}×`,
    ],
    [
      'backup: backupVolume to a sink',
      ms(result.backup.sinkMs),
      `${result.backup.sinkMiBPerSecond} MiB/s`,
      `${result.backup.ratioSink.toFixed(2)}×`,
    ],
    ['restore: tar -xzf from a file', ms(result.restore.tarMs), '', '1.00×'],
    ['restore: restoreVolume from s3rver', ms(result.restore.oursMs), '', `${result.restore.ratio.toFixed(2)}×`],
  ];
  return [
    `${result.sizeMiB} MiB in ${result.files} files; archive ${(result.archiveBytes / MiB).toFixed(1)} MiB`,
    textTable(['', 'median wall time (rounds)', 'throughput', 'vs tar'], rows),
    `peak RSS growth: ${result.memory.s3rverPeakGrowthMiB} MiB with s3rver in-process, ${result.memory.sinkPeakGrowthMiB} MiB with the sink`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizeMiB = process.argv[2] ? Number(process.argv[2]) : undefined;
  const result = await benchVolume({ ...(sizeMiB ? { sizeMiB } : {}) });
  process.stdout.write(`${describeVolumeBench(result)}\n${JSON.stringify(result, null, 2)}\n`);
}
