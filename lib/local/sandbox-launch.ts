import { join } from 'node:path';
import { type Env, endpointFor, type ServiceId, serviceEndpointVariable } from '../aws/endpoints';
import { loadStageConfig } from '../config/load';
import type { SlipwayConfig } from '../config/schema';
import type { EventRule, Sandbox } from '../sandbox';
import type { ResolvedService } from './serverless-cli';
import type { EmbeddedServer } from './servers';

/**
 * `npm start -- --sandbox` (or SLIPWAY_SANDBOX=1): the simulated ECS, ECR, RDS and CloudWatch alarms of
 * lib/sandbox on loopback, kept under the stage's state directory, every event it sends delivered through
 * serverless-offline's Lambda invoke endpoint to the functions whose eventBridge rules in serverless.yml
 * match it. The functions reach it through the SDK's per-service endpoint variables, which the client
 * factory in lib/aws honours, so nothing in them knows it is a sandbox but /health and the response header.
 */

/** The stage `--sandbox` runs when no --stage is given: config/sandbox.yml. */
export const SANDBOX_STAGE = 'sandbox';

/** The services the functions reach in the sandbox rather than in AWS. */
const SIMULATED = ['ecs', 'ecr', 'rds', 'cloudwatch'] as const;

/**
 * The services the functions may still call that are neither simulated nor on this machine (dynalite, s3rver,
 * serverless-offline's Lambda), and what for. SNS and SQS are not among them: npm start's stages have no topic
 * and no queue (serverless.yml).
 */
const OTHERS: ReadonlyArray<[ServiceId, string]> = [
  ['secretsmanager', 'Secrets Manager (API tokens until one is minted here)'],
];

/** Whether the sandbox was asked for: the --sandbox flag, or SLIPWAY_SANDBOX=1 (or true). */
export function sandboxRequested(flag: boolean | undefined, env: Record<string, string | undefined>): boolean {
  return flag === true || env.SLIPWAY_SANDBOX === '1' || env.SLIPWAY_SANDBOX === 'true';
}

export interface SandboxLaunch extends EmbeddedServer {
  /** For the functions: the per-service endpoints, the region the sandbox holds, and the sandbox's own endpoint. */
  env: Record<string, string>;
  /**
   * Routes the sandbox's events by serverless.yml's eventBridge rules, as serverless-offline resolved it (it is
   * started with the endpoint above, so the rules come after): until then the sandbox answers nothing.
   */
  routeEvents(service: ResolvedService): void;
  /** Lines for the start-up banner: what is simulated, and where the services neither simulated nor local go in `env`. */
  banner(env: Env): string[];
  sandbox: Sandbox;
}

export interface LaunchOptions {
  stage: string;
  stateDir: string;
  /** Where the volumes' files are, seeded with a few when the sandbox is fresh (the volume functions' SLIPWAY_VOLUME_ROOT). */
  volumeRoot: string;
  /** serverless-offline's ports: events are delivered to the Lambda one once the HTTP one answers. */
  httpPort: number;
  lambdaPort: number;
  log: (line: string) => void;
  env?: Record<string, string | undefined>;
}

const OFFLINE_READY_TIMEOUT_MS = 300_000;

/** Resolves once serverless-offline answers (it bundles every function first); events wait for it. */
function offlineReady(httpPort: number): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => {
    ready ??= (async () => {
      const deadline = Date.now() + OFFLINE_READY_TIMEOUT_MS;
      while (Date.now() < deadline) {
        try {
          const response = await fetch(`http://127.0.0.1:${httpPort}/health/live`, {
            signal: AbortSignal.timeout(2_000),
          });
          if (response.ok) return;
        } catch {
          // not listening yet
        }
        await new Promise((done) => setTimeout(done, 250));
      }
      throw new Error(`serverless-offline did not answer on port ${httpPort}`);
    })();
    return ready;
  };
}

/** Invokes a function as EventBridge would, through serverless-offline's Lambda Invoke API (RequestResponse). */
export async function invokeOffline(lambdaPort: number, functionName: string, event: unknown): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${lambdaPort}/2015-03-31/functions/${functionName}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  await response.text();
  // Lambda API Reference, Invoke: a function's own error is a 200 with X-Amz-Function-Error.
  const functionError = response.headers.get('x-amz-function-error');
  if (!response.ok || functionError) {
    throw new Error(`${functionName} answered ${response.status}${functionError ? ` (${functionError})` : ''}`);
  }
}

function tryLines(config: SlipwayConfig): string[] {
  const [app, appConfig] = Object.entries(config.apps)[0] ?? [];
  const environment = appConfig ? Object.keys(appConfig.environments).at(-1) : undefined;
  if (!app || !environment) return [];
  return [
    `  Try             npx slipway sandbox push ${app} <tag>   |   npx slipway sandbox alarm ${app} ${environment}`,
  ];
}

/** Where each service neither simulated nor on this machine goes, grouped by place, as the functions' `env` says. */
export function otherServicesLine(env: Env): string {
  const byPlace = new Map<string, string[]>();
  for (const [service, use] of OTHERS) {
    const place = endpointFor(service, env) ?? 'AWS (usual credential chain)';
    byPlace.set(place, [...(byPlace.get(place) ?? []), use]);
  }
  const places = [...byPlace].map(([place, uses]) => `${uses.join(', ')}: ${place}`);
  return `  Other services  ${places.join('; ')}; SNS, SQS: none (no topic or queue under npm start)`;
}

export async function launchSandbox(options: LaunchOptions): Promise<SandboxLaunch> {
  const env = options.env ?? process.env;
  // The simulation and the SDK schemas it answers with load only when the sandbox is asked for.
  const { eventRulesOf, placeOfConfig, startSandbox } = await import('../sandbox');
  const config = loadStageConfig(options.stage);
  const { account, region } = placeOfConfig(config, env);
  let known: (rules: EventRule[]) => void = () => undefined;
  const rules = new Promise<EventRule[]>((resolve) => {
    known = resolve;
  });
  const ready = offlineReady(options.httpPort);
  const stateDir = join(options.stateDir, 'aws');
  const sandbox = await startSandbox({
    stateDir,
    volumeRoot: options.volumeRoot,
    config,
    stage: options.stage,
    rules,
    deliver: async (functionName, event) => {
      await ready();
      await invokeOffline(options.lambdaPort, functionName, event);
    },
    log: options.log,
  });
  const endpoints = Object.fromEntries(
    SIMULATED.map((service) => [serviceEndpointVariable(service), sandbox.endpoint]),
  );
  return {
    name: 'sandbox',
    endpoint: sandbox.endpoint,
    sandbox,
    env: { ...endpoints, AWS_REGION: region, SLIPWAY_SANDBOX_ENDPOINT: sandbox.endpoint },
    routeEvents: (service) =>
      known(
        eventRulesOf(
          { service: service.service, stage: options.stage, functions: service.functions },
          { partition: 'aws', region, account },
        ),
      ),
    banner: (functionsEnv) => [
      `  SANDBOX         ECS, ECR, RDS, CloudWatch alarm states and EventBridge delivery are simulated at ${sandbox.endpoint} (account ${account}, ${region}); none of them reaches AWS`,
      otherServicesLine(functionsEnv),
      `  Sandbox state   ${stateDir}`,
      ...(sandbox.healthEndpoint ? [`  Health checks   ${sandbox.healthEndpoint} (answered by the sandbox)`] : []),
      ...tryLines(config),
    ],
    close: () => sandbox.close(),
  };
}
