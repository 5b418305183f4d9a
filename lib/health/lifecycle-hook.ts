import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import '../errors/validation';
import type { HealthCheckConfig, SlipwayConfig } from '../config/schema';
import { serviceFromArn } from '../deploy/outcome';
import { logger } from '../observability';
import { namedChecks } from './alarms';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './probe';

/**
 * An ECS deployment lifecycle hook (for example at POST_TEST_TRAFFIC_SHIFT and
 * POST_PRODUCTION_TRAFFIC_SHIFT): each invocation runs once the environment's health checks of the
 * listener that reaches the new revision at that stage (`checksAtStage`).
 * `requiredPasses` consecutive passing runs answer SUCCEEDED, `maxAttempts` runs without them
 * FAILED (ECS rolls back), anything in between IN_PROGRESS with a callBackDelay. Progress is kept
 * per execution and stage with conditional writes, so a re-invocation never moves it twice and a
 * decided stage always answers the same.
 */

type CheckStage = HealthCheckConfig['stage'];

/**
 * Which checks a hook probes at each lifecycle stage: those of the listener that reaches the new (green)
 * revision then (ECS developer guide, "Amazon ECS blue/green deployments" and "Lifecycle hooks for Amazon
 * ECS service deployments"; ECS API Reference, DeploymentLifecycleHook lifecycleStages). From
 * TEST_TRAFFIC_SHIFT until production traffic shifts, production still reaches the old (blue) revision and
 * only the test listener reaches green: probing production there would pass on blue's health. Before
 * TEST_TRAFFIC_SHIFT (RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP) no listener reaches green, so there
 * is nothing to probe.
 */
const CHECKS_AT_STAGE: Readonly<Record<string, CheckStage>> = {
  TEST_TRAFFIC_SHIFT: 'test',
  POST_TEST_TRAFFIC_SHIFT: 'test',
  PRE_PRODUCTION_TRAFFIC_SHIFT: 'test',
  PRODUCTION_TRAFFIC_SHIFT: 'production',
  POST_PRODUCTION_TRAFFIC_SHIFT: 'production',
};

/** The checks a hook probes at `lifecycleStage`, or undefined where no listener reaches the new revision. */
export function checksAtStage(lifecycleStage: string): CheckStage | undefined {
  return Object.hasOwn(CHECKS_AT_STAGE, lifecycleStage) ? CHECKS_AT_STAGE[lifecycleStage] : undefined;
}

const stagesProbing = (checks: CheckStage) =>
  Object.keys(CHECKS_AT_STAGE)
    .filter((stage) => CHECKS_AT_STAGE[stage] === checks)
    .join(', ');

const details = z.object({
  serviceArn: z.string().check(z.minLength(1)),
  targetServiceRevisionArn: z.optional(z.string()),
  testTrafficWeights: z.optional(z.record(z.string(), z.number())),
  productionTrafficWeights: z.optional(z.record(z.string(), z.number())),
});

/** What ECS passes a Lambda hook: the stage, the execution, and the deployment's details (nested or at the top). */
export const lifecycleHookEvent = z.pipe(
  z
    .object({
      executionId: z.optional(z.string().check(z.minLength(1))),
      lifecycleStage: z.string().check(z.minLength(1)),
      resourceArn: z.optional(z.string()),
      executionDetails: z.optional(details),
      serviceArn: z.optional(z.string().check(z.minLength(1))),
      targetServiceRevisionArn: z.optional(z.string()),
      hookDetails: z.optional(z.record(z.string(), z.unknown())),
    })
    .check(
      z.refine((event) => Boolean(event.executionDetails?.serviceArn ?? event.serviceArn), {
        message: 'expected serviceArn, in executionDetails or at the top level',
        path: ['executionDetails', 'serviceArn'],
      }),
    ),
  z.transform((event) => {
    const serviceArn = (event.executionDetails?.serviceArn ?? event.serviceArn) as string;
    const revision = event.executionDetails?.targetServiceRevisionArn ?? event.targetServiceRevisionArn;
    return {
      lifecycleStage: event.lifecycleStage,
      serviceArn,
      // The execution id names one run of the hook across its re-invocations; the revision stands in without it.
      execution: event.executionId ?? event.resourceArn ?? revision ?? serviceArn,
    };
  }),
);
export type LifecycleHookEvent = z.output<typeof lifecycleHookEvent>;

export type HookStatus = 'SUCCEEDED' | 'FAILED' | 'IN_PROGRESS';
export interface HookAnswer {
  hookStatus: HookStatus;
  callBackDelay?: number;
  hookDetails?: Record<string, unknown>;
}

interface Progress {
  passes: number;
  attempts: number;
  status: HookStatus;
  reason: string;
}

export interface LifecycleHookDeps {
  config: SlipwayConfig;
  documents: DynamoDBDocumentClient;
  tableName: string;
  probe: (targets: ProbeTarget[], options: ProbeOptions) => Promise<ProbeResult[]>;
  probeOptions: ProbeOptions;
  now?: () => Date;
}

const PROGRESS_RETENTION_SECONDS = 7 * 24 * 3600;

/** The next step of a hook from the last one and this run's result: pure. */
export function nextProgress(
  previous: Pick<Progress, 'passes' | 'attempts'>,
  run: { ok: boolean; reason: string },
  limits: { requiredPasses: number; maxAttempts: number },
): Progress {
  const passes = run.ok ? previous.passes + 1 : 0;
  const attempts = previous.attempts + 1;
  if (passes >= limits.requiredPasses) {
    return { passes, attempts, status: 'SUCCEEDED', reason: `${passes} consecutive passing runs` };
  }
  if (attempts >= limits.maxAttempts) {
    return {
      passes,
      attempts,
      status: 'FAILED',
      reason: `no ${limits.requiredPasses} consecutive passing runs in ${attempts} attempts; last: ${run.reason}`,
    };
  }
  return { passes, attempts, status: 'IN_PROGRESS', reason: run.reason };
}

export class LifecycleHook {
  constructor(private readonly deps: LifecycleHookDeps) {}

  async handle(event: LifecycleHookEvent): Promise<HookAnswer> {
    const located = this.locate(event.serviceArn);
    if (!located) {
      return this.answer({
        passes: 0,
        attempts: 0,
        status: 'FAILED',
        reason: `${event.serviceArn} is not a service in Slipway's configuration`,
      });
    }
    const checks = checksAtStage(event.lifecycleStage);
    const targets = checks ? this.targets(located.app, located.environment, checks) : [];
    const refused = !checks
      ? `no listener reaches the new revision at ${event.lifecycleStage}: Slipway's hook probes test checks at ${stagesProbing('test')} and production checks at ${stagesProbing('production')}`
      : checks === 'test' && targets.length === 0
        ? `${located.app}/${located.environment} has no health check with stage: test, and at ${event.lifecycleStage} only the test listener reaches the new revision`
        : undefined;
    if (refused) {
      logger.warn('lifecycle hook refused', { ...located.where, stage: event.lifecycleStage, reason: refused });
      return this.answer({ passes: 0, attempts: 0, status: 'FAILED', reason: refused });
    }

    const key = { pk: `HOOK#${event.execution}`, sk: `STAGE#${event.lifecycleStage}` };
    const { Item } = await this.deps.documents.send(
      new GetCommand({ TableName: this.deps.tableName, Key: key, ConsistentRead: true }),
    );
    const previous = (Item as Progress | undefined) ?? { passes: 0, attempts: 0, status: 'IN_PROGRESS', reason: '' };
    if (previous.status !== 'IN_PROGRESS') return this.answer(previous, located.env.lifecycleHook.callBackDelaySeconds);

    const run = await this.runChecks(targets);
    const next = nextProgress(previous, run, located.env.lifecycleHook);
    const now = this.deps.now?.() ?? new Date();
    try {
      await this.deps.documents.send(
        new PutCommand({
          TableName: this.deps.tableName,
          Item: {
            ...key,
            type: 'lifecycle-hook',
            app: located.app,
            environment: located.environment,
            ...next,
            updatedAt: now.toISOString(),
            expiresAt: Math.floor(now.getTime() / 1000) + PROGRESS_RETENTION_SECONDS,
          },
          // The attempt this run counted from must still be the last one recorded.
          ConditionExpression: 'attribute_not_exists(pk) OR attempts = :read',
          ExpressionAttributeValues: { ':read': previous.attempts },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // A concurrent invocation recorded this attempt: answer what it recorded.
      const { Item: current } = await this.deps.documents.send(
        new GetCommand({ TableName: this.deps.tableName, Key: key, ConsistentRead: true }),
      );
      return this.answer(current as Progress, located.env.lifecycleHook.callBackDelaySeconds);
    }
    logger.info('lifecycle hook run', { ...located.where, stage: event.lifecycleStage, ...next });
    return this.answer(next, located.env.lifecycleHook.callBackDelaySeconds);
  }

  private locate(serviceArn: string) {
    const service = serviceFromArn(serviceArn);
    if (!service) return undefined;
    for (const [app, appConfig] of Object.entries(this.deps.config.apps)) {
      for (const [environment, env] of Object.entries(appConfig.environments)) {
        if (env.cluster.split('/').at(-1) === service.cluster && env.service === service.service) {
          return { app, environment, env, where: { app, environment } };
        }
      }
    }
    return undefined;
  }

  private targets(app: string, environment: string, checks: CheckStage): ProbeTarget[] {
    const env = this.deps.config.apps[app]?.environments[environment];
    return (env ? namedChecks(env, checks) : []).map((named) => ({ app, environment, ...named }));
  }

  private async runChecks(targets: ProbeTarget[]): Promise<{ ok: boolean; reason: string }> {
    if (targets.length === 0) return { ok: true, reason: 'no health checks configured' };
    const results = await this.deps.probe(targets, this.deps.probeOptions);
    const failed = results.filter((result) => !result.ok);
    return failed.length === 0
      ? { ok: true, reason: `${results.length} check(s) passed` }
      : { ok: false, reason: failed.map((result) => `${result.check}: ${result.reason ?? 'failed'}`).join('; ') };
  }

  private answer(progress: Progress, callBackDelay?: number): HookAnswer {
    if (progress.status !== 'IN_PROGRESS') {
      logger.info('lifecycle hook decided', { status: progress.status, reason: progress.reason });
      return { hookStatus: progress.status };
    }
    // ECS hands hookDetails back on the next invocation; the progress itself lives in the state table.
    const hookDetails = { passes: progress.passes, attempts: progress.attempts, reason: progress.reason };
    return { hookStatus: 'IN_PROGRESS', callBackDelay: callBackDelay ?? 30, hookDetails };
  }
}
