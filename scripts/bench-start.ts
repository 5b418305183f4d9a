/**
 * `npm start` and `sls package --stage prod`, timed and weighed from outside, as a developer meets them.
 *
 * Each run works on a fresh copy of the working tree (its tracked and unignored files, node_modules
 * linked, as after a warm `npm ci`: no .esbuild, no .slipway), so nothing a previous run built or
 * stored is reused, and a handler can be edited without touching the repository.
 *
 * npm start: from spawning the launcher to its "Press Ctrl-C to stop." (the API answering, the
 * schedules armed). Then one handler is edited, and the time until the launcher reports the rebuild
 * and which outputs it rewrote is taken; then the edited route is called to see the new code served.
 * Package: `serverless package --stage prod` into a fresh folder, start to exit.
 * Memory: the RSS of the whole process tree (the command and every process below it), summed in each
 * sample taken every 100 ms from /proc, and its highest sum; the same for the esbuild processes alone.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sampleTree, type TreeUsage } from '../lib/bench/process-tree';
import { freePort } from '../test/support/processes';

const MiB = 1024 * 1024;
const SAMPLE_EVERY_MS = 100;

/** A copy of the working tree as a clean clone has it, with node_modules linked; remove with `rmSync`. */
export function cleanCopy(root: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'slipway-bench-tree-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
  })
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(root, file)));
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(root, file), join(copy, file));
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(copy, 'node_modules'), 'dir');
  return copy;
}

/** The environment of a developer without AWS credentials or endpoints, quiet and offline. */
function localEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(AWS_|SLIPWAY_|POWERTOOLS_)/.test(key)) delete env[key];
  }
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

async function waitFor(what: string, done: () => boolean, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: the process exited first`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Usage {
  /** Peak RSS of the whole tree, summed per sample. */
  treeMiB: number;
  /** Peak RSS of its esbuild processes, summed per sample. */
  esbuildMiB: number;
  /** CPU time of the tree (user and system). */
  cpuSeconds: number;
}

const usageOf = (usage: TreeUsage): Usage => ({
  treeMiB: usage.peakBytes / MiB,
  esbuildMiB: (usage.peakByName.get('esbuild') ?? 0) / MiB,
  cpuSeconds: usage.cpuSeconds,
});

export interface StartRun {
  readyMs: number;
  /** Peak until ready. */
  usage: Usage;
  /** Present when the launcher reports its rebuilds (it says which outputs an edit rewrote). */
  rebuild?: { ms: number; rewritten: string[]; served: boolean };
}

/** The handler edited, the route it serves, and what the edited code answers there. */
const EDITED = {
  file: 'functions/http/get-liveness.ts',
  path: '/health/live',
};

/** One `npm start` in `tree` (a clean copy): ready time and memory, then one edit's rebuild. */
export async function measureStart(tree: string): Promise<StartRun> {
  const httpPort = await freePort();
  const lambdaPort = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), 'slipway-bench-state-'));
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--stage', 'local'], {
    cwd: tree,
    env: localEnv({
      AWS_SHARED_CREDENTIALS_FILE: join(stateDir, 'no-credentials'),
      AWS_CONFIG_FILE: join(stateDir, 'no-config'),
      SLIPWAY_STATE_DIR: stateDir,
      SLIPWAY_HTTP_PORT: String(httpPort),
      SLIPWAY_LAMBDA_PORT: String(lambdaPort),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sampler = sampleTree(child.pid as number, SAMPLE_EVERY_MS);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor('npm start ready', () => output.includes('Press Ctrl-C to stop.'), child, 300_000);
    const readyMs = performance.now() - started;
    const usage = usageOf(sampler.now());
    // A launcher that reports its builds (bundles: built …) can be timed on an edit too.
    const rebuild = output.includes('bundles: built ') ? await editOne(tree, httpPort, () => output) : undefined;
    return { readyMs, usage, ...(rebuild ? { rebuild } : {}) };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${output.slice(-4_000)}`);
  } finally {
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
    sampler.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Edits one handler's answer, waits for the launcher's rebuild line, and calls the route. */
async function editOne(tree: string, httpPort: number, output: () => string) {
  const file = join(tree, EDITED.file);
  const source = readFileSync(file, 'utf8');
  const marker = `bench-${Date.now()}`;
  const edited = source.replace("status: 'alive'", `status: 'alive', edit: '${marker}'`);
  if (edited === source) throw new Error(`${EDITED.file} no longer answers status: 'alive'; the bench edits it`);
  const before = output().length;
  const started = performance.now();
  writeFileSync(file, edited);
  const line = () => /bundles: rebuilt [^\n]*\n/.exec(output().slice(before))?.[0];
  const child = { exitCode: null, signalCode: null } as unknown as ChildProcess;
  await waitFor('rebuild after an edit', () => line() !== undefined, child, 120_000);
  const ms = performance.now() - started;
  const rewritten =
    /rewrote ([^\n]*)/
      .exec(line() ?? '')?.[1]
      ?.trim()
      .split(', ') ?? [];
  const response = await fetch(`http://127.0.0.1:${httpPort}${EDITED.path}`);
  const served = ((await response.text()) as string).includes(marker);
  return { ms, rewritten, served };
}

export interface PackageRun {
  ms: number;
  usage: Usage;
}

/** One `serverless package --stage prod` in `tree` into a fresh folder. */
export async function measurePackage(tree: string): Promise<PackageRun> {
  const out = mkdtempSync(join(tmpdir(), 'slipway-bench-package-'));
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [join(tree, 'node_modules', 'serverless', 'bin', 'serverless.js'), 'package', '--stage', 'prod', '--package', out],
    {
      cwd: tree,
      env: localEnv({
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        SLS_DEPRECATION_DISABLE: '*',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const sampler = sampleTree(child.pid as number, SAMPLE_EVERY_MS);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const ms = performance.now() - started;
    if (code !== 0) throw new Error(`serverless package exited with ${code}:\n${output.slice(-4_000)}`);
    return { ms, usage: usageOf(sampler.stop()) };
  } finally {
    sampler.stop();
    rmSync(out, { recursive: true, force: true });
  }
}
