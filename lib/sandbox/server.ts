import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as z from 'zod';
import type { SlipwayConfig } from '../config/schema';
import { ecrRepository } from '../deploy/ecs';
import { alarmDefinitions, alarmOf, recoverAlarms, setAlarm } from './alarms';
import { ECR_TARGET_PREFIX, ecrOperations, pushTag } from './ecr';
import { ECS_TARGET_PREFIX, ecsOperations, findService } from './ecs';
import { RDS_XML_NAMESPACE, rdsOperations } from './rds';
import type { EventRule } from './rules';
import { seedState, seedVolumes } from './seed';
import { DEFAULT_TIMINGS, type Sim, type Timings } from './sim';
import { Simulation } from './simulation';
import { loadState, type SandboxState, saveState } from './state';
import {
  AwsFault,
  type Json,
  jsonError,
  queryError,
  readJson,
  readQuery,
  type Served,
  writeJson,
  writeQuery,
} from './wire';

/**
 * `startSandbox`: the simulated ECS, ECR, RDS and CloudWatch alarms on one loopback endpoint that the
 * AWS SDK's clients reach through AWS_ENDPOINT_URL_ECS, _ECR and _RDS, persisted under a state
 * directory, seeded from the stage's config when the directory is empty, and delivering every event
 * to the functions whose rules match it. Each environment with a sandbox health check URL is answered
 * by a small health server: healthy while the service runs a task and its availability alarm is OK.
 */

/** The header every answer of the sandbox carries, so no one mistakes it for AWS. */
export const SANDBOX_HEADER = 'x-slipway-sandbox';

export interface SandboxClock {
  now(): number;
}

export const systemClock: SandboxClock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements SandboxClock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(at: number): void {
    this.current = at;
  }
}

export interface SandboxOptions {
  /** Where the state is kept (`.slipway/sandbox/`); a fresh directory is seeded from `config`. */
  stateDir: string;
  /** Where volumes' files are, seeded with the state (default `<stateDir>/volumes`). */
  volumeRoot?: string;
  config: SlipwayConfig;
  /** The stage: Slipway's generated alarm names carry it. */
  stage: string;
  /**
   * The eventBridge rules of serverless.yml (rules.ts, eventRulesOf). A promise where they are known only after
   * the endpoint is (npm start hands the endpoint to serverless-offline, which then resolves serverless.yml):
   * the sandbox listens at once, but simulates and answers nothing before they are known.
   */
  rules: EventRule[] | Promise<EventRule[]>;
  /** Invokes a function with an event (serverless-offline's Lambda invoke under `npm start`). */
  deliver: (functionName: string, event: Json) => Promise<void>;
  clock?: SandboxClock;
  timings?: Partial<Timings>;
  /** The AWS endpoint's port; 0 (default) picks a free one. */
  port?: number;
  /** The health server's port; by default the one the config's sandbox health check URLs name, 0 in none. */
  healthPort?: number;
  /** Moves the simulation on by itself (default: with the system clock); tests with a ManualClock call advance(). */
  autoAdvance?: boolean;
  log?: (line: string) => void;
}

export interface PushResult {
  repository: string;
  tag: string;
  digest: string;
}

export interface Sandbox {
  /** The endpoint for AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL_RDS. */
  endpoint: string;
  /** The health server (undefined when no environment has a sandbox health check). */
  healthEndpoint: string | undefined;
  /** Where volumes' files are (SLIPWAY_VOLUME_ROOT for the volume functions). */
  volumeRoot: string;
  /** Pushes a new image of the app under `tag`, as `docker push` would: the push event, then the scan's. */
  push(app: string, tag: string): Promise<PushResult>;
  /** Moves an environment's alarm (its availability alarm unless named) to ALARM or OK, and sends the state change. */
  alarm(
    app: string,
    environment: string,
    value: 'ALARM' | 'OK',
    alarmName?: string,
  ): Promise<{ alarmName: string; changed: boolean }>;
  /** Runs what is due by the clock now and delivers what is due, waiting for the deliveries. */
  advance(): Promise<void>;
  /** The state, for tests and the console: read it, never change it. */
  state(): SandboxState;
  close(): Promise<void>;
}

/** The path of an environment's health check on the sandbox's health server. */
export const healthPath = (app: string, environment: string) => `/apps/${app}/environments/${environment}/health`;
const HEALTH_PATH = /^\/apps\/([^/]+)\/environments\/([^/]+)\/health$/;

/** The port the config's sandbox health checks name (http://127.0.0.1:<port>/apps/<app>/environments/<env>/health). */
export function configuredHealthPort(config: SlipwayConfig): number | undefined {
  const ports = new Set<number>();
  for (const app of Object.values(config.apps)) {
    for (const env of Object.values(app.environments)) {
      for (const check of env.health) {
        const url = new URL(check.url);
        if ((url.hostname === '127.0.0.1' || url.hostname === 'localhost') && HEALTH_PATH.test(url.pathname)) {
          ports.add(Number(url.port || 80));
        }
      }
    }
  }
  if (ports.size > 1)
    throw new Error(`the sandbox health checks name ${ports.size} ports (${[...ports].join(', ')}); use one`);
  return [...ports][0];
}

/** The region a request was signed for (`Credential=<key>/<date>/<region>/<service>/aws4_request`). */
function signedRegion(request: IncomingMessage, fallback: string): string {
  const authorization = String(request.headers.authorization ?? '');
  return /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(authorization)?.[1] ?? fallback;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const pushBody = z.strictObject({
  app: z.string().min(1),
  tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'a Docker tag: letters, digits, _ . -, at most 128'),
});
const alarmBody = z.strictObject({
  app: z.string().min(1),
  environment: z.string().min(1),
  state: z.enum(['ALARM', 'OK']),
  alarmName: z.string().min(1).optional(),
});

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const clock = options.clock ?? systemClock;
  const timings: Timings = { ...DEFAULT_TIMINGS, ...options.timings };
  const log = options.log ?? (() => undefined);
  const definitions = alarmDefinitions(options.config, options.stage);
  const volumeRoot = options.volumeRoot ?? join(options.stateDir, 'volumes');
  mkdirSync(options.stateDir, { recursive: true });

  let state = loadState(options.stateDir);
  if (!state) {
    state = seedState({
      config: options.config,
      alarms: definitions,
      now: clock.now(),
      simulation: (fresh) => new Simulation(fresh, timings, []),
    });
    seedVolumes(options.config, volumeRoot);
    saveState(options.stateDir, state);
    log(`sandbox: seeded ${options.stateDir} from the config of stage ${options.stage}`);
  }
  const seeded = state;
  const simulated = Promise.resolve(options.rules).then(
    (rules) => new Simulation(seeded, timings, rules, recoverAlarms(options.config, definitions)),
  );
  // A rejected promise fails every request that awaits it, not the process.
  simulated.catch((error: Error) => log(`sandbox: ${error.message}`));
  let saved = JSON.stringify(seeded);
  const persist = () => {
    const now = JSON.stringify(seeded);
    if (now === saved) return;
    saveState(options.stateDir, seeded);
    saved = now;
  };

  let delivering: Promise<void> | undefined;
  let closed = false;
  const deliverDue = (): Promise<void> => {
    if (delivering) return delivering;
    delivering = (async () => {
      const simulation = await simulated;
      for (;;) {
        const delivery = simulation.nextDelivery(clock.now());
        if (!delivery || closed) break;
        try {
          await options.deliver(delivery.functionName, delivery.event);
          simulation.delivered(delivery);
        } catch (error) {
          const dropped = simulation.failed(delivery, clock.now());
          log(
            `sandbox: ${delivery.functionName} did not take ${String(delivery.event['detail-type'])} (${(error as Error).message})${dropped ? '; dropped, older than EventBridge keeps events' : '; retrying'}`,
          );
        }
        persist();
      }
    })().finally(() => {
      delivering = undefined;
    });
    return delivering;
  };

  const advance = async () => {
    (await simulated).advanceTo(clock.now());
    persist();
    await deliverDue();
  };

  const run = async <T>(region: string, change: (sim: Sim) => T): Promise<T> => {
    const result = (await simulated).run(clock.now(), region, change);
    persist();
    void deliverDue();
    return result;
  };

  const answer = (
    response: ServerResponse,
    status: number,
    contentType: string,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    response.writeHead(status, {
      'content-type': contentType,
      'x-amzn-requestid': randomUUID(),
      [SANDBOX_HEADER]: 'true',
      ...headers,
    });
    response.end(body);
  };

  const push = async (app: string, tag: string): Promise<PushResult> => {
    const appConfig = options.config.apps[app];
    if (!appConfig)
      throw new AwsFault(
        'NotFound',
        `no app ${app} in the config; apps: ${Object.keys(options.config.apps).join(', ')}`,
        404,
      );
    const ecr = ecrRepository(appConfig.repository);
    if (!ecr)
      throw new AwsFault(
        'InvalidParameter',
        `app ${app}'s repository ${appConfig.repository} is not an ECR repository`,
        400,
      );
    const image = await run(ecr.region, (sim) => {
      const repo = sim.state.ecr.repositories.find(
        (each) => each.region === ecr.region && each.registryId === ecr.registryId && each.name === ecr.repositoryName,
      );
      if (!repo)
        throw new AwsFault('RepositoryNotFoundException', `the sandbox has no repository ${ecr.repositoryName}`, 404);
      return pushTag(sim, repo, tag);
    });
    await deliverDue();
    return { repository: ecr.repositoryName, tag, digest: image.digest };
  };

  const alarm = async (app: string, environment: string, value: 'ALARM' | 'OK', alarmName?: string) => {
    const definition = alarmOf(definitions, app, environment, alarmName);
    const { changed } = await run(seeded.region, (sim) => setAlarm(sim, definition, value));
    await deliverDue();
    return { alarmName: definition.name, changed };
  };

  const serveControl = async (request: IncomingMessage, response: ServerResponse, path: string) => {
    const json = (status: number, body: unknown) => answer(response, status, 'application/json', JSON.stringify(body));
    try {
      if (request.method === 'GET' && path === '/_sandbox/health') {
        await advance();
        return json(200, {
          sandbox: true,
          stage: options.stage,
          region: seeded.region,
          pendingEvents: seeded.outbox.length,
        });
      }
      const parse = <T>(schema: z.ZodType<T>, text: string): T => {
        let body: unknown;
        try {
          body = JSON.parse(text || '{}');
        } catch {
          throw new AwsFault('InvalidRequest', 'the body is not JSON', 400);
        }
        const parsed = schema.safeParse(body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new AwsFault('InvalidRequest', `${issue?.path.join('.') || 'body'}: ${issue?.message}`, 400);
        }
        return parsed.data;
      };
      if (request.method === 'POST' && path === '/_sandbox/push') {
        const body = parse(pushBody, await bodyOf(request));
        return json(200, await push(body.app, body.tag));
      }
      if (request.method === 'POST' && path === '/_sandbox/alarm') {
        const body = parse(alarmBody, await bodyOf(request));
        return json(200, await alarm(body.app, body.environment, body.state, body.alarmName));
      }
      return json(404, { error: { code: 'NOT_FOUND', message: `no sandbox route ${request.method} ${path}` } });
    } catch (error) {
      const fault = error instanceof AwsFault ? error : new AwsFault('InternalFailure', (error as Error).message, 500);
      return json(fault.status, { error: { code: fault.code, message: fault.message } });
    }
  };

  const serveJson = async (request: IncomingMessage, response: ServerResponse, target: string) => {
    const [prefix, operations] = target.startsWith(ECS_TARGET_PREFIX)
      ? [ECS_TARGET_PREFIX, ecsOperations]
      : [ECR_TARGET_PREFIX, ecrOperations];
    const operation: Served<Sim> | undefined = operations[target.slice(prefix.length)];
    const body = await bodyOf(request);
    try {
      if (!operation) throw new AwsFault('UnknownOperationException', `The Slipway sandbox does not serve ${target}`);
      const input = await readJson(operation.schema, body);
      const output = await run(signedRegion(request, seeded.region), (sim) => operation.handle(input, sim));
      answer(response, 200, 'application/x-amz-json-1.1', writeJson(operation.schema, output));
    } catch (error) {
      const fault = error instanceof AwsFault ? error : new AwsFault('ServerException', (error as Error).message, 500);
      answer(response, fault.status, 'application/x-amz-json-1.1', jsonError(fault), {
        'x-amzn-errortype': fault.code,
      });
    }
  };

  const serveQuery = async (request: IncomingMessage, response: ServerResponse) => {
    const requestId = randomUUID();
    const form = new URLSearchParams(await bodyOf(request));
    const action = form.get('Action') ?? '';
    const operation: Served<Sim> | undefined = rdsOperations[action];
    try {
      if (!operation)
        throw new AwsFault('InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
      const input = readQuery(operation.schema, form);
      const output = await run(signedRegion(request, seeded.region), (sim) => operation.handle(input, sim));
      answer(response, 200, 'text/xml', writeQuery(operation.schema, output, RDS_XML_NAMESPACE, requestId), {
        'x-amzn-requestid': requestId,
      });
    } catch (error) {
      const fault = error instanceof AwsFault ? error : new AwsFault('InternalFailure', (error as Error).message, 500);
      answer(response, fault.status, 'text/xml', queryError(fault, RDS_XML_NAMESPACE, requestId), {
        'x-amzn-requestid': requestId,
      });
    }
  };

  const failedAnswer = (response: ServerResponse) => (error: Error) => {
    log(`sandbox: ${error.message}`);
    if (!response.headersSent) answer(response, 500, 'text/plain', 'the sandbox failed to answer');
  };

  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://sandbox').pathname;
    const target = String(request.headers['x-amz-target'] ?? '');
    const work = path.startsWith('/_sandbox/')
      ? serveControl(request, response, path)
      : target.startsWith(ECS_TARGET_PREFIX) || target.startsWith(ECR_TARGET_PREFIX)
        ? serveJson(request, response, target)
        : target !== ''
          ? (async () => {
              await bodyOf(request);
              const fault = new AwsFault(
                'UnknownOperationException',
                `The Slipway sandbox serves ECS, ECR and RDS; not ${target}`,
              );
              answer(response, 400, 'application/x-amz-json-1.1', jsonError(fault), { 'x-amzn-errortype': fault.code });
            })()
          : serveQuery(request, response);
    work.catch(failedAnswer(response));
  });

  const serveHealth = async (request: IncomingMessage, response: ServerResponse) => {
    const match = HEALTH_PATH.exec(new URL(request.url ?? '/', 'http://sandbox').pathname);
    const env = match ? options.config.apps[match[1] as string]?.environments[match[2] as string] : undefined;
    if (!match || !env) return answer(response, 404, 'application/json', JSON.stringify({ status: 'unknown' }));
    const simulation = await simulated;
    simulation.advanceTo(clock.now());
    const [app, environment] = [match[1] as string, match[2] as string];
    const service = findService({ state: simulation.state, region: simulation.state.region }, env.cluster, env.service);
    const running = simulation.state.ecs.tasks.filter(
      (task) =>
        service &&
        task.cluster === service.cluster &&
        task.service === service.name &&
        task.lastStatus === 'RUNNING' &&
        task.desiredStatus === 'RUNNING',
    ).length;
    const firing = definitions
      .filter((each) => each.app === app && each.environment === environment)
      .filter((each) => simulation.state.alarms.find((record) => record.name === each.name)?.value === 'ALARM')
      .map((each) => each.name);
    const healthy = running > 0 && firing.length === 0;
    answer(
      response,
      healthy ? 200 : 503,
      'application/json',
      JSON.stringify({ status: healthy ? 'healthy' : 'unhealthy', runningTasks: running, alarms: firing }),
    );
  };

  const healthPort = options.healthPort ?? configuredHealthPort(options.config);
  const healthServer: Server | undefined =
    healthPort === undefined
      ? undefined
      : createServer((request, response) => {
          serveHealth(request, response).catch(failedAnswer(response));
        });

  const listen = (target: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      target.once('error', reject);
      target.listen(port, '127.0.0.1', () => resolve((target.address() as AddressInfo).port));
    });
  const port = await listen(server, options.port ?? 0);
  let boundHealthPort: number | undefined;
  try {
    boundHealthPort = healthServer && healthPort !== undefined ? await listen(healthServer, healthPort) : undefined;
  } catch (error) {
    server.close();
    throw new Error(
      `the sandbox health server could not listen on 127.0.0.1:${healthPort} (${(error as Error).message})`,
    );
  }

  const autoAdvance = options.autoAdvance ?? clock === systemClock;
  const timer = autoAdvance
    ? setInterval(() => {
        advance().catch((error: Error) => log(`sandbox: ${error.message}`));
      }, 250)
    : undefined;
  timer?.unref();

  const close = (target: Server | undefined) =>
    new Promise<void>((resolve) => {
      if (!target) return resolve();
      target.closeAllConnections();
      target.close(() => resolve());
    });

  return {
    endpoint: `http://127.0.0.1:${port}`,
    healthEndpoint: boundHealthPort === undefined ? undefined : `http://127.0.0.1:${boundHealthPort}`,
    volumeRoot,
    push,
    alarm,
    advance,
    state: () => seeded,
    close: async () => {
      closed = true;
      if (timer) clearInterval(timer);
      await delivering;
      persist();
      await Promise.all([close(server), close(healthServer)]);
    },
  };
}
