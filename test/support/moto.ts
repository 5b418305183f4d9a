import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isAlive } from './processes';

/**
 * moto's server mode: an AWS emulator written by people who never saw Slipway, beside our own fakes.
 * The integration project's global setup starts one server per jest worker (each file resets its
 * worker's server, so two files running at once never share AWS); a file reaches its server
 * through `motoEndpoint()`. moto keeps state per account (123456789012 for any unknown access key,
 * which is what Slipway's loopback credentials are) and per region.
 */

export const MOTO_VERSION = '5.2.1';
export const INSTALL_LINE = `pip install 'moto[server]==${MOTO_VERSION}'`;
const ENDPOINTS_VARIABLE = 'SLIPWAY_MOTO_ENDPOINTS';
// The teardown may see another instance of this module than the setup did: the servers are found by their ids.
const PIDS_VARIABLE = 'SLIPWAY_MOTO_PIDS';
const LOGS_VARIABLE = 'SLIPWAY_MOTO_LOGS';
const READY_TIMEOUT_MS = 60_000;

/** Refuses, with the install line, when moto cannot be imported or is not the version these tests were written against. */
export function assertMotoInstalled(): void {
  let version: string;
  try {
    version = execFileSync('python3', ['-c', 'import moto; print(moto.__version__)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (error) {
    const said =
      String((error as { stderr?: string }).stderr ?? '')
        .trim()
        .split('\n')
        .at(-1) || (error as Error).message;
    throw new Error(
      `the integration tests run AWS flows against moto, and python3 -c 'import moto' failed (${said}); install it with: ${INSTALL_LINE}`,
    );
  }
  if (version !== MOTO_VERSION) {
    throw new Error(
      `the integration tests were written against moto ${MOTO_VERSION} (its known gaps are named in the tests), found ${version}; install it with: ${INSTALL_LINE}`,
    );
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function startServer(): Promise<string> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // moto logs every request: to a file, which nobody has to keep draining.
  const log = join(tmpdir(), `slipway-moto-${port}.log`);
  const output = openSync(log, 'w');
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', output, output],
  });
  closeSync(output);
  process.env[PIDS_VARIABLE] = [process.env[PIDS_VARIABLE], child.pid].filter(Boolean).join(',');
  process.env[LOGS_VARIABLE] = [process.env[LOGS_VARIABLE], log].filter(Boolean).join(',');
  child.unref();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answers(url))) {
    const said = () => readFileSync(log, 'utf8').slice(0, 4_000);
    if (child.exitCode !== null) throw new Error(`moto server exited (code ${child.exitCode}):\n${said()}`);
    if (Date.now() > deadline) throw new Error(`moto server did not answer at ${url} within 60 s:\n${said()}`);
    await new Promise((done) => setTimeout(done, 200));
  }
  return url;
}

/** The integration project's global setup: one moto server per worker jest may run at once. */
export async function setup(globalConfig: { maxWorkers: number }): Promise<void> {
  assertMotoInstalled();
  const count = Math.max(1, globalConfig.maxWorkers);
  const urls = await Promise.all(Array.from({ length: count }, () => startServer()));
  process.env[ENDPOINTS_VARIABLE] = urls.join(',');
}

export async function teardown(): Promise<void> {
  const pids = (process.env[PIDS_VARIABLE] ?? '').split(',').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const pid of pids) {
    for (let attempt = 0; attempt < 50 && isAlive(pid); attempt += 1)
      await new Promise((done) => setTimeout(done, 100));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const log of (process.env[LOGS_VARIABLE] ?? '').split(',').filter(Boolean)) rmSync(log, { force: true });
  delete process.env[ENDPOINTS_VARIABLE];
  delete process.env[PIDS_VARIABLE];
  delete process.env[LOGS_VARIABLE];
}

/** This worker's moto server. */
export function motoEndpoint(): string {
  const urls = (process.env[ENDPOINTS_VARIABLE] ?? '').split(',').filter(Boolean);
  if (urls.length === 0)
    throw new Error(
      `no moto server: ${ENDPOINTS_VARIABLE} is unset (the integration project's global setup starts it)`,
    );
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  return urls[(worker - 1) % urls.length] as string;
}

/** Forgets every resource of every account and region: each test file starts from an empty AWS. */
export async function resetMoto(url = motoEndpoint()): Promise<void> {
  const response = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
}
