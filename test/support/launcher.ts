import { type ChildProcess, spawn } from 'node:child_process';
import { descendants, freePort, isAlive } from './processes';

/** `npm start` as a user runs it, watched from a test. */
export interface Launched {
  child: ChildProcess;
  output: () => string;
  /** Every process below the launcher once it was ready. */
  pids: number[];
}

const launched: ChildProcess[] = [];

export async function startLauncher(args: string[], env: NodeJS.ProcessEnv): Promise<Launched> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launched.push(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // Longer than the launcher's own 300 s wait, so its message is the one seen.
  const deadline = Date.now() + 330_000;
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) throw new Error(`launcher exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`launcher did not come up:\n${output}`);
    await new Promise((done) => setTimeout(done, 200));
  }
  return { child, output: () => output, pids: descendants(child.pid as number) };
}

/** Ctrl-C, and the exit code. */
export async function interrupt(launcher: Launched): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => launcher.child.once('exit', (code) => resolve(code)));
  launcher.child.kill('SIGINT');
  return exited;
}

/** A failed assertion must not leave a launcher running. */
export function killLaunchers(): void {
  for (const child of launched.splice(0)) {
    for (const pid of [...descendants(child.pid as number), child.pid as number]) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
}

/**
 * `npm start -- --stage <stage>` (default local) with every AWS service at `endpoint` (AWS_ENDPOINT_URL, as for
 * LocalStack), on free ports, with `env` added to its environment.
 */
export async function startLauncherAt(
  endpoint: string,
  stateDir: string,
  options: { stage?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ launcher: Launched; apiUrl: string; lambdaPort: number }> {
  const httpPort = await freePort();
  const lambdaPort = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^AWS_(ENDPOINT_URL|PROFILE)/.test(key)) delete env[key];
  const launcher = await startLauncher(['--stage', options.stage ?? 'local'], {
    ...env,
    ...options.env,
    AWS_ENDPOINT_URL: endpoint,
    SLIPWAY_STATE_DIR: stateDir,
    SLIPWAY_HTTP_PORT: String(httpPort),
    SLIPWAY_LAMBDA_PORT: String(lambdaPort),
  });
  return { launcher, apiUrl: `http://127.0.0.1:${httpPort}`, lambdaPort };
}
