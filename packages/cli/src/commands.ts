import { isLoopbackHost } from '../../../lib/net/addresses';
import {
  type AppsBody,
  type AuditEntry,
  type BackupRecord,
  DEPLOYMENT_FAILURES,
  type DeploymentPlan,
  type DeploymentRecord,
  type EnvironmentView,
  IN_FLIGHT_STATES,
  type RestoreRecord,
} from './api';
import type { Command, Waiting } from './args';
import { CliError, EXIT, SetupError } from './errors';
import {
  deploymentHeadline,
  deploymentVerdict,
  formatApps,
  formatAudit,
  formatBackup,
  formatBackups,
  formatDeployment,
  formatEnvironment,
  formatEnvironments,
  formatHistory,
  formatPlan,
  formatRestore,
  restoreLine,
  restoreVerdict,
  type Style,
  timelineLine,
} from './format';
import type { ApiClient } from './http';
import { type ApiRequest, requestFor } from './requests';
import { type Clock, type FollowSpec, follow, type Progress, plainProgress, spinnerProgress } from './wait';

/** Each command: its requests, its output (a table or --json), its exit code. */

export interface Context {
  client: ApiClient;
  json: boolean;
  style: Style;
  /** Raw writes to stdout and stderr. */
  stdout(text: string): void;
  stderr(text: string): void;
  isTTY: boolean;
  clock: Clock;
  /** Calls `handler` on Ctrl-C until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

const RESTORE_ENDS = ['AVAILABLE', 'FAILED', 'DELETED'];

function print(ctx: Context, text: string): void {
  ctx.stdout(`${text}\n`);
}

function printJson(ctx: Context, value: unknown): void {
  print(ctx, JSON.stringify(value, null, 2));
}

function send<T>(ctx: Context, request: ApiRequest, signal?: AbortSignal): Promise<T> {
  return ctx.client.send<T>(request, signal);
}

function deploymentExit(record: DeploymentRecord): number {
  return DEPLOYMENT_FAILURES.includes(record.state) ? EXIT.failed : EXIT.ok;
}

function progressFor(ctx: Context): Progress {
  if (ctx.json) return { line: () => undefined, status: () => undefined, stop: () => undefined };
  return ctx.isTTY ? spinnerProgress(ctx.stdout, ctx.clock.now) : plainProgress(ctx.stdout);
}

/** Follows a record with Ctrl-C stopping the following (never the operation). */
async function followRecord<R>(ctx: Context, initial: R, spec: FollowSpec<R>, waiting: Waiting) {
  const controller = new AbortController();
  const release = ctx.onInterrupt(() => controller.abort());
  try {
    return await follow(initial, spec, {
      timeoutMs: waiting.timeoutMinutes * 60_000,
      signal: controller.signal,
      clock: ctx.clock,
      progress: progressFor(ctx),
    });
  } finally {
    release();
  }
}

/** How `--wait` follows a deployment: its record polled, each new step of its timeline a line, until it ends. */
export function deploymentFollowing(client: ApiClient, id: string, style: Style): FollowSpec<DeploymentRecord> {
  return {
    poll: async (signal) =>
      (
        await client.send<{ deployment: DeploymentRecord }>(
          { method: 'GET', path: `/v1/deployments/${encodeURIComponent(id)}` },
          signal,
        )
      ).deployment,
    news: (previous, current) =>
      current.timeline.slice(previous?.timeline.length ?? 0).map((entry) => timelineLine(style, entry)),
    done: (record) => !IN_FLIGHT_STATES.includes(record.state),
    status: (record) => `${record.state} ${record.app}/${record.environment}`,
  };
}

async function followDeployment(ctx: Context, initial: DeploymentRecord, waiting: Waiting): Promise<number> {
  if (!ctx.json) print(ctx, deploymentHeadline(ctx.style, initial));
  const outcome = await followRecord(ctx, initial, deploymentFollowing(ctx.client, initial.id, ctx.style), waiting);
  const { record } = outcome;
  const where = `slipway status ${record.app} ${record.environment}`;
  if (outcome.kind === 'interrupted') {
    ctx.stderr(
      `slipway: stopped following ${record.id}; the deployment keeps running on the control plane (${where})\n`,
    );
    return EXIT.interrupted;
  }
  if (ctx.json) printJson(ctx, { deployment: record });
  if (outcome.kind === 'timeout') {
    ctx.stderr(
      `slipway: gave up following ${record.id} after ${waiting.timeoutMinutes} min; it is still ${record.state} on the control plane (${where})\n`,
    );
    return EXIT.failed;
  }
  if (!ctx.json) print(ctx, deploymentVerdict(ctx.style, record));
  return deploymentExit(record);
}

/** After deploy, promote, rollback and approve: the record, or its whole course with --wait. */
async function deploymentAnswer(
  ctx: Context,
  body: { deployment: DeploymentRecord } | { dryRun: true; plan: DeploymentPlan },
  waiting: Waiting,
): Promise<number> {
  if ('plan' in body) {
    if (ctx.json) printJson(ctx, body);
    else print(ctx, formatPlan(ctx.style, body.plan));
    return EXIT.ok;
  }
  if (waiting.wait) return followDeployment(ctx, body.deployment, waiting);
  if (ctx.json) printJson(ctx, body);
  else print(ctx, formatDeployment(ctx.style, body.deployment));
  return deploymentExit(body.deployment);
}

async function status(ctx: Context, command: Extract<Command, { name: 'status' }>): Promise<number> {
  if (command.app !== undefined && command.environment !== undefined) {
    const body = await send<{ environment: EnvironmentView }>(ctx, requestFor(command));
    if (ctx.json) printJson(ctx, body);
    else print(ctx, formatEnvironment(ctx.style, body.environment));
    return EXIT.ok;
  }
  const body = await send<AppsBody>(ctx, requestFor(command));
  if (command.app === undefined) {
    if (ctx.json) printJson(ctx, body);
    else print(ctx, formatApps(ctx.style, body));
    return EXIT.ok;
  }
  const app = body.apps.find((candidate) => candidate.name === command.app);
  if (!app) {
    const known = body.apps.map((candidate) => candidate.name).join(', ') || 'none';
    throw new CliError(`no app named ${command.app} (apps: ${known})`, EXIT.refused);
  }
  const environments = await Promise.all(
    app.environments.map(
      async (env) =>
        (
          await send<{ environment: EnvironmentView }>(
            ctx,
            requestFor({ name: 'status', app: app.name, environment: env.name }),
          )
        ).environment,
    ),
  );
  if (ctx.json) printJson(ctx, { app: app.name, environments });
  else print(ctx, formatEnvironments(ctx.style, environments));
  return EXIT.ok;
}

async function history(ctx: Context, command: Extract<Command, { name: 'history' }>): Promise<number> {
  const first = requestFor(command);
  const deployments: DeploymentRecord[] = [];
  let cursor: string | undefined;
  do {
    const limit = Math.min(100, command.limit - deployments.length);
    const page = await send<{ deployments: DeploymentRecord[]; cursor?: string }>(ctx, {
      ...first,
      query: { limit: String(limit), ...(cursor ? { cursor } : {}) },
    });
    deployments.push(...page.deployments);
    cursor = page.cursor;
  } while (cursor && deployments.length < command.limit);
  const shown = deployments.slice(0, command.limit);
  if (ctx.json) printJson(ctx, { deployments: shown, ...(cursor ? { cursor } : {}) });
  else print(ctx, formatHistory(ctx.style, shown));
  return EXIT.ok;
}

const AUDIT_PAGE = 500;

async function audit(ctx: Context, command: Extract<Command, { name: 'audit' }>): Promise<number> {
  const first = requestFor(command);
  const entries: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const limit = Math.min(AUDIT_PAGE, command.limit - entries.length);
    const page = await send<{ entries: AuditEntry[]; cursor?: string }>(ctx, {
      ...first,
      query: { ...first.query, limit: String(limit), ...(cursor ? { cursor } : {}) },
    });
    entries.push(...page.entries);
    cursor = page.cursor;
  } while (cursor && entries.length < command.limit);
  if (ctx.json) printJson(ctx, { entries, ...(cursor ? { cursor } : {}) });
  else print(ctx, formatAudit(ctx.style, entries));
  return EXIT.ok;
}

async function restore(ctx: Context, command: Extract<Command, { name: 'restore' }>): Promise<number> {
  const { restore: created } = await send<{ restore: RestoreRecord }>(ctx, requestFor(command));
  if (!command.wait) {
    if (ctx.json) printJson(ctx, { restore: created });
    else print(ctx, formatRestore(ctx.style, created));
    return EXIT.ok;
  }
  if (!ctx.json) print(ctx, formatRestore(ctx.style, created));
  const outcome = await followRecord(
    ctx,
    created,
    {
      poll: async (signal) =>
        (
          await send<{ restore: RestoreRecord }>(
            ctx,
            { method: 'GET', path: `/v1/restores/${encodeURIComponent(created.id)}` },
            signal,
          )
        ).restore,
      // The creation line already says where it starts; each later status gets a line.
      news: (previous, current) =>
        previous !== undefined && previous.status !== current.status ? [restoreLine(ctx.style, current)] : [],
      done: (record) => RESTORE_ENDS.includes(record.status),
      status: (record) => `${record.status} ${record.id}`,
    },
    command,
  );
  const { record } = outcome;
  if (outcome.kind === 'interrupted') {
    ctx.stderr(`slipway: stopped following ${record.id}; the restore keeps running on the control plane\n`);
    return EXIT.interrupted;
  }
  if (ctx.json) printJson(ctx, { restore: record });
  if (outcome.kind === 'timeout') {
    ctx.stderr(
      `slipway: gave up following ${record.id} after ${command.timeoutMinutes} min; it is still ${record.status} on the control plane\n`,
    );
    return EXIT.failed;
  }
  if (!ctx.json) print(ctx, restoreVerdict(ctx.style, record));
  return record.status === 'AVAILABLE' ? EXIT.ok : EXIT.failed;
}

export async function runCommand(ctx: Context, command: Command): Promise<number> {
  switch (command.name) {
    case 'deploy':
    case 'rollback':
    case 'promote':
    case 'approve':
      return deploymentAnswer(ctx, await send(ctx, requestFor(command)), command);
    case 'cancel': {
      const body = await send<{ deployment: DeploymentRecord }>(ctx, requestFor(command));
      if (ctx.json) printJson(ctx, body);
      else print(ctx, formatDeployment(ctx.style, body.deployment));
      return EXIT.ok;
    }
    case 'status':
      return status(ctx, command);
    case 'history':
      return history(ctx, command);
    case 'backups': {
      const body = await send<{ backups: BackupRecord[] }>(ctx, requestFor(command));
      if (ctx.json) printJson(ctx, body);
      else print(ctx, formatBackups(ctx.style, body.backups));
      return EXIT.ok;
    }
    case 'backup': {
      const body = await send<{ backup: BackupRecord }>(ctx, requestFor(command));
      if (ctx.json) printJson(ctx, body);
      else print(ctx, formatBackup(ctx.style, body.backup));
      return EXIT.ok;
    }
    case 'restore':
      return restore(ctx, command);
    case 'audit':
      return audit(ctx, command);
    case 'sandbox-push':
    case 'sandbox-alarm':
      return sandbox(ctx, command);
  }
}

type SandboxCommand = Extract<Command, { name: 'sandbox-push' | 'sandbox-alarm' }>;

/** The sandbox's endpoint as the control plane's GET /health names it; only a sandboxed one on this machine does. */
async function sandboxOf(ctx: Context, command: SandboxCommand): Promise<ApiClient> {
  const client = ctx.client;
  const health = await send<{ stage?: string; sandbox?: { endpoint?: string } }>(ctx, requestFor(command));
  const endpoint = health.sandbox?.endpoint;
  if (!endpoint) {
    throw new SetupError(
      `${client.baseUrl} is not a sandbox (stage ${health.stage ?? 'unknown'}, and its GET /health names no sandbox): slipway sandbox works only against a control plane started with npm start -- --sandbox`,
    );
  }
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    host = '';
  }
  if (!isLoopbackHost(host)) {
    throw new SetupError(`${client.baseUrl} names ${endpoint} as its sandbox, which is not on this machine; refused`);
  }
  return client.beside(endpoint, `GET ${client.baseUrl}/health`);
}

async function sandbox(ctx: Context, command: SandboxCommand): Promise<number> {
  const simulated = await sandboxOf(ctx, command);
  if (command.name === 'sandbox-push') {
    const pushed = await simulated.send<{ repository: string; tag: string; digest: string }>({
      method: 'POST',
      path: '/_sandbox/push',
      body: { app: command.app, tag: command.tag },
    });
    if (ctx.json) printJson(ctx, pushed);
    else
      print(
        ctx,
        `Pushed ${pushed.repository}:${pushed.tag} (${pushed.digest}) to the sandbox's ECR; the ECR Image Action event was delivered, the scan's result follows in seconds.`,
      );
    return EXIT.ok;
  }
  const moved = await simulated.send<{ alarmName: string; changed: boolean }>({
    method: 'POST',
    path: '/_sandbox/alarm',
    body: { app: command.app, environment: command.environment, state: command.state },
  });
  if (ctx.json) printJson(ctx, moved);
  else
    print(
      ctx,
      moved.changed
        ? `Alarm ${moved.alarmName} of ${command.app} ${command.environment} is ${command.state}; the state change was delivered.`
        : `Alarm ${moved.alarmName} of ${command.app} ${command.environment} was ${command.state} already; nothing was sent.`,
    );
  return EXIT.ok;
}
