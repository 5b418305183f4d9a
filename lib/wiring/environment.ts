import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors';

/**
 * What a function learns from its environment, read once at cold start.
 * Names and places only: no secret is ever passed through the environment.
 */
export interface FunctionEnvironment {
  stage: string;
  stateTable: string;
  backupBucket: string;
  version: string;
  /** Where deployment state changes are published; absent where no topic exists (npm start). */
  notificationsTopicArn: string | undefined;
  /** Where events that cannot be handled are kept. */
  deadLetterQueueUrl: string | undefined;
  /** The worker task (resources/worker.yml); absent where the config has no worker section. */
  workerCluster: string | undefined;
  workerTaskDefinition: string | undefined;
  /** True under `npm start` (serverless-offline), never in a deployed function. */
  offline: boolean;
  /** Where `npm start` keeps this stage's local state (tokens file, embedded servers' data). */
  localStateDir: string | undefined;
  /** Under `npm start -- --sandbox`, the simulated AWS's endpoint (lib/sandbox); never in a deployed function. */
  sandboxEndpoint: string | undefined;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set; the function was packaged without it`);
  return value;
}

export function readEnvironment(env: Env = process.env): FunctionEnvironment {
  const offline = env.IS_OFFLINE === 'true';
  const stateDir = env.SLIPWAY_STATE_DIR;
  return {
    stage: required(env, 'SLIPWAY_STAGE'),
    stateTable: required(env, 'STATE_TABLE'),
    backupBucket: required(env, 'BACKUP_BUCKET'),
    version: env.SLIPWAY_VERSION ?? '0.0.0',
    notificationsTopicArn: env.NOTIFICATIONS_TOPIC_ARN || undefined,
    deadLetterQueueUrl: env.DEAD_LETTER_QUEUE_URL || undefined,
    workerCluster: env.WORKER_CLUSTER || undefined,
    workerTaskDefinition: env.WORKER_TASK_DEFINITION || undefined,
    offline,
    localStateDir: offline && stateDir ? (isAbsolute(stateDir) ? stateDir : join(process.cwd(), stateDir)) : undefined,
    sandboxEndpoint: (offline && env.SLIPWAY_SANDBOX_ENDPOINT) || undefined,
  };
}

export function localTokensFile(env: Pick<FunctionEnvironment, 'localStateDir'>): string | undefined {
  return env.localStateDir ? join(env.localStateDir, 'tokens.json') : undefined;
}

let cached: FunctionEnvironment | undefined;

/** This function's environment, read once per container: a missing variable fails the cold start, loudly. */
export function environment(): FunctionEnvironment {
  cached ??= readEnvironment();
  return cached;
}
