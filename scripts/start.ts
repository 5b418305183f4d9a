/**
 * `npm start`: the whole control plane on this machine. serverless-offline
 * serves the HTTP API, the schedules run, and unless AWS_ENDPOINT_URL says
 * otherwise the state table and backup bucket live in embedded dynalite and
 * s3rver under .slipway/<stage>/, created from the definitions in resources/.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { endpointFor, regionFrom } from '../lib/aws/endpoints';
import { nextRun, parseSchedule, scheduledEvent } from '../lib/aws/schedules';
import { writeResolvedConfig } from '../lib/config/load';
import { findResource } from '../lib/local/definitions';
import { lambdaEndpointEnv, lambdaLine, localVolumeRoot } from '../lib/local/offline-lambda';
import { launchSandbox, SANDBOX_STAGE, type SandboxLaunch, sandboxRequested } from '../lib/local/sandbox-launch';
import { serverlessEnv, serviceFromOffline, spawnOffline } from '../lib/local/serverless-cli';
import { type EmbeddedServer, startDynalite, startS3rver, stateDirs } from '../lib/local/servers';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Set once anything is started, so a failure part-way still stops what was started. */
let stopEverything: ((code: number) => Promise<void>) | undefined;

function portFrom(value: string | undefined, fallback: number): number {
  const port = Number(value ?? fallback);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${value} is not a TCP port`);
  return port;
}

async function waitForHttp(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('serverless-offline exited before it was ready');
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** Waits until no process of the group is left (esbuild's service outlives serverless by a moment). */
async function groupGone(pgid: number): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

async function main() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: { stage: { type: 'string' }, port: { type: 'string' }, sandbox: { type: 'boolean' } },
    allowPositionals: false,
  });
  const sandboxed = sandboxRequested(values.sandbox, process.env);
  const stage = values.stage ?? (sandboxed ? SANDBOX_STAGE : 'local');
  const config = writeResolvedConfig(stage); // fail fast, with the key path, before anything starts

  const stateDir = resolve(process.env.SLIPWAY_STATE_DIR ?? `.slipway/${stage}`);
  mkdirSync(stateDir, { recursive: true });
  const httpPort = portFrom(values.port ?? process.env.SLIPWAY_HTTP_PORT, 3000);
  const lambdaPort = portFrom(process.env.SLIPWAY_LAMBDA_PORT, httpPort + 2);
  const external = process.env.AWS_ENDPOINT_URL;

  const servers: EmbeddedServer[] = [];
  let offline: ReturnType<typeof spawnOffline> | undefined;
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const timer of timers) clearTimeout(timer);
    if (offline?.pid && offline.exitCode === null) {
      const exited = new Promise((done) => offline?.once('exit', done));
      try {
        process.kill(-offline.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const killer = setTimeout(() => {
        try {
          if (offline?.pid) process.kill(-offline.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000);
      await exited;
      clearTimeout(killer);
      await groupGone(offline.pid);
    }
    await Promise.all(servers.map((server) => server.close()));
    say('Slipway stopped.');
    process.exit(code);
  };
  stopEverything = stop;
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  // The volume functions are invoked through serverless-offline, and have their volume's directory here.
  const endpoints: Record<string, string> = lambdaEndpointEnv(process.env, lambdaPort);
  const volumeRoot = localVolumeRoot(stateDir);
  for (const volume of Object.keys(config.volumes)) mkdirSync(join(volumeRoot, volume), { recursive: true });
  if (!external) {
    const dirs = stateDirs(stateDir);
    const dynamodb = await startDynalite(dirs.dynamodb, portFrom(process.env.SLIPWAY_DYNAMODB_PORT, 0));
    servers.push(dynamodb);
    const s3 = await startS3rver(dirs.s3, portFrom(process.env.SLIPWAY_S3_PORT, 0));
    servers.push(s3);
    endpoints.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.endpoint;
    endpoints.AWS_ENDPOINT_URL_S3 = s3.endpoint;
  }

  const backupBucket = process.env.SLIPWAY_BACKUP_BUCKET ?? `slipway-${stage}-backups`;
  const params = { backupBucket, volumeRoot };
  // The sandbox listens first, so serverless-offline's handlers are given its endpoint; it routes events once the
  // service is resolved (below).
  const sandbox: SandboxLaunch | undefined = sandboxed
    ? await launchSandbox({ stage, stateDir, volumeRoot, httpPort, lambdaPort, log: say })
    : undefined;
  if (sandbox) {
    servers.push(sandbox);
    Object.assign(endpoints, sandbox.env);
  }
  // serverless-offline's process resolves serverless.yml once and hands the launcher the result (the resources
  // it creates, the schedules it runs), then bundles while the table and bucket are made: no handler is called
  // before both are done, as the launcher is ready only then.
  const serviceFile = join(stateDir, `.service-${process.pid}.json`);
  rmSync(serviceFile, { force: true });
  offline = spawnOffline(
    stage,
    params,
    serverlessEnv({
      ...endpoints,
      SLIPWAY_STATE_DIR: stateDir,
      SLIPWAY_HTTP_PORT: String(httpPort),
      SLIPWAY_LAMBDA_PORT: String(lambdaPort),
      // The launcher runs the schedules (below); serverless-offline must not run them again.
      SLIPWAY_LAUNCHER_RUNS_SCHEDULES: 'true',
      SLIPWAY_LAUNCHER_SERVICE_FILE: serviceFile,
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    }),
  );
  const verbose = process.env.SLIPWAY_VERBOSE === 'true';
  let partial = '';
  offline.stdout?.on('data', (chunk: Buffer) => {
    const lines = `${partial}${chunk.toString('utf8')}`.split('\n');
    partial = lines.pop() ?? '';
    // Handler log lines (JSON) and the bundles' builds always pass; serverless-offline's own banner only when asked.
    for (const line of lines) {
      const shown = verbose || line.trimStart().startsWith('{') || line.startsWith('bundles: ');
      if (line.trim() && shown) process.stdout.write(`${line}\n`);
    }
  });
  offline.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  offline.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`serverless-offline exited (code ${code}); stopping\n`);
      void stop(1);
    }
  });

  // The SDK clients load while serverless-offline starts, not before it.
  const [{ createDynamoDbClient }, { createS3Client }, { ensureBackupBucket, ensureStateTable }] = await Promise.all([
    import('../lib/aws/clients/dynamodb'),
    import('../lib/aws/clients/s3'),
    import('../lib/local/provision'),
  ]);
  const service = await serviceFromOffline(serviceFile, () => offline?.exitCode === null, 300_000);
  rmSync(serviceFile, { force: true });
  sandbox?.routeEvents(service);
  const resources = service.resources.Resources;
  const env = { ...process.env, ...endpoints };
  await ensureStateTable(createDynamoDbClient(env), findResource(resources, 'StateTable', 'AWS::DynamoDB::Table'), say);
  await ensureBackupBucket(
    createS3Client(env),
    backupBucket,
    findResource(resources, 'BackupBucket', 'AWS::S3::Bucket'),
    say,
  );

  const apiUrl = `http://127.0.0.1:${httpPort}`;
  // Bundling every function comes first; a busy machine takes a minute. A dead process ends the wait at once.
  await waitForHttp(`${apiUrl}/health/live`, 300_000, () => offline?.exitCode === null);

  const region = regionFrom();
  const schedules: string[] = [];
  for (const [name, fn] of Object.entries(service.functions)) {
    for (const event of fn.events ?? []) {
      const raw = event.schedule as string | { rate: string | string[]; enabled?: boolean } | undefined;
      if (!raw) continue;
      const expressions = typeof raw === 'string' ? [raw] : raw.enabled === false ? [] : [raw.rate].flat();
      for (const expression of expressions) {
        const schedule = parseSchedule(expression);
        const startedAt = new Date();
        const functionName = fn.name ?? `${service.service}-${stage}-${name}`;
        const arm = (after: Date) => {
          const at = nextRun(schedule, after, startedAt);
          const timer = setTimeout(
            async () => {
              timers.delete(timer);
              const event = scheduledEvent(`arn:aws:events:${region}:000000000000:rule/${functionName}`, at, region);
              try {
                await fetch(`http://127.0.0.1:${lambdaPort}/2015-03-31/functions/${functionName}/invocations`, {
                  method: 'POST',
                  body: JSON.stringify(event),
                });
              } catch (error) {
                process.stderr.write(`schedule ${name} ${expression}: ${(error as Error).message}\n`);
              }
              if (!stopping) arm(at);
            },
            Math.max(0, at.getTime() - Date.now()),
          );
          timers.add(timer);
        };
        arm(startedAt);
        schedules.push(`${name}: ${expression}`);
      }
    }
  }

  say('');
  say(`Slipway is running (stage ${stage}${sandbox ? ', SANDBOX: simulated AWS' : ''})`);
  say(`  HTTP API        ${apiUrl}   (GET /health, /health/live, /health/ready, /v1/...)`);
  say(lambdaLine(env, lambdaPort));
  const embedded = (name: string) => (external ? '' : `   (${name}, on this machine)`);
  say(
    `  DynamoDB        ${endpoints.AWS_ENDPOINT_URL_DYNAMODB ?? endpointFor('dynamodb') ?? 'AWS'}${embedded('dynalite')}`,
  );
  say(
    `  S3              ${endpoints.AWS_ENDPOINT_URL_S3 ?? endpointFor('s3') ?? 'AWS'}   bucket ${backupBucket}${embedded('s3rver')}`,
  );
  if (sandbox) for (const line of sandbox.banner(env)) say(line);
  else say(`  Other services  ${external ?? 'AWS (usual credential chain)'}`);
  say(`  State           ${stateDir}`);
  const volumes = Object.keys(config.volumes);
  if (volumes.length > 0) say(`  Volumes         ${volumes.map((volume) => join(volumeRoot, volume)).join(', ')}`);
  say(`  Schedules       ${schedules.length > 0 ? schedules.join('; ') : 'none configured'}`);
  say(`  Get a token     npm run token -- --stage ${stage} --name me --role admin`);
  say('Press Ctrl-C to stop.');
}

main().catch((error: Error) => {
  process.stderr.write(`slipway: ${error.message}\n`);
  if (stopEverything) void stopEverything(1);
  else process.exit(1);
});
