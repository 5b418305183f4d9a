import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);

export const SERVERLESS_BIN = join(process.cwd(), 'node_modules', 'serverless', 'bin', 'serverless.js');

/** Quiet, offline-friendly environment for Serverless Framework v3. */
export function serverlessEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    AWS_EC2_METADATA_DISABLED: 'true',
    // Lambda runs Node 22; Node 20 is supported on development machines.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

export interface ResolvedService {
  service: string;
  provider: { region?: string; environment?: Record<string, unknown> };
  functions: Record<string, { handler: string; name?: string; events?: Array<Record<string, unknown>> }>;
  resources: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
}

export interface DeclaredFunction {
  handler: string;
  events?: Array<Record<string, unknown>>;
}

/**
 * The functions serverless.yml declares, as written (no variable resolved): `functions` lists one file per
 * trigger kind (`\${file(./serverless/functions/<kind>.yml)}`), which Serverless merges into one map.
 */
export function declaredFunctions(root = process.cwd()): Record<string, DeclaredFunction> {
  const { functions } = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as { functions: string[] };
  return Object.assign(
    {},
    ...functions.map((included) => {
      const path = /^\$\{file\((.+)\)\}$/.exec(included)?.[1];
      if (!path) throw new Error(`serverless.yml functions: expected \${file(<path>)}, received ${included}`);
      return parse(readFileSync(join(root, path), 'utf8')) as Record<string, DeclaredFunction>;
    }),
  );
}

/** serverless.yml with every variable resolved, as Serverless itself sees it. */
export async function printService(stage: string, params: Record<string, string>): Promise<ResolvedService> {
  const args = [SERVERLESS_BIN, 'print', '--stage', stage, '--format', 'json'];
  for (const [key, value] of Object.entries(params)) args.push(`--param=${key}=${value}`);
  try {
    const { stdout } = await run(process.execPath, args, { env: serverlessEnv(), maxBuffer: 32 * 1024 * 1024 });
    return JSON.parse(stdout) as ResolvedService;
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    const reason = /Error:\n([\s\S]*?)(\n\n|$)/.exec(output)?.[1]?.trim() ?? output.trim();
    throw new Error(`serverless.yml could not be resolved for stage ${stage}:\n${reason}`);
  }
}

export function spawnOffline(stage: string, params: Record<string, string>, env: NodeJS.ProcessEnv) {
  // --localEnvironment: the handlers see the endpoints and state dir the launcher sets (names and places, no secrets).
  const args = [SERVERLESS_BIN, 'offline', 'start', '--stage', stage, '--localEnvironment'];
  for (const [key, value] of Object.entries(params)) args.push(`--param=${key}=${value}`);
  // Its own process group, so one signal stops it and every worker it started.
  return spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The service as the serverless-offline process resolved it, from the file serverless/launcher-schedules.cjs
 * writes there (SLIPWAY_LAUNCHER_SERVICE_FILE) once it is resolved; `isAlive` ends the wait when that process died.
 */
export async function serviceFromOffline(
  file: string,
  isAlive: () => boolean,
  timeoutMs: number,
): Promise<ResolvedService> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (!isAlive()) throw new Error('serverless-offline exited before it resolved serverless.yml');
    if (Date.now() > deadline) throw new Error(`serverless.yml was not resolved within ${timeoutMs / 1000} s`);
    await new Promise((done) => setTimeout(done, 50));
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ResolvedService;
}
