import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { SlipwayConfig } from '../config/schema';
import { serviceFromArn } from '../deploy/outcome';
import { logger } from '../observability';
import { checkName } from './alarms';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './probe';

/**
 * An ECS deployment lifecycle hook (for example at POST_TEST_TRAFFIC_SHIFT and
 * POST_PRODUCTION_TRAFFIC_SHIFT): each invocation runs the environment's health checks once.
 * `requiredPasses` consecutive passing runs answer SUCCEEDED, `maxAttempts` runs without them
 * FAILED (ECS rolls back), anything in between IN_PROGRESS with a callBackDelay. Progress is kept
 * per execution and stage with conditional writes, so a re-invocation never moves it twice and a
 * decided stage always answers the same.
 */

const details = z.object({
  serviceArn: z.string().min(1),
  targetServiceRevisionArn: z.string().optional(),
  testTrafficWeights: z.record(z.string(), z.number()).optional(),
  productionTrafficWeights: z.record(z.string(), z.number()).optional(),
});

/** What ECS passes a Lambda hook: the stage, the execution, and the deployment's details (nested or at the top). */
export const lifecycleHookEvent = z
  .object({
    executionId: z.string().min(1).optional(),
    lifecycleStage: z.string().min(1),
    resourceArn: z.string().optional(),
    executionDetails: details.optional(),
    serviceArn: z.string().min(1).optional(),
    targetServiceRevisionArn: z.string().optional(),
    hookDetails: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((event) => event.executionDetails?.serviceArn ?? event.serviceArn, {
    message: 'expected serviceArn, in executionDetails or at the top level',
    path: ['executionDetails', 'serviceArn'],
  })
  .transform((event) => {
    const serviceArn = (event.executionDetails?.serviceArn ?? event.serviceArn) as string;
    const revision = event.executionDetails?.targetServiceRevisionArn ?? event.targetServiceRevisionArn;
    return {
      lifecycleStage: event.lifecycleStage,
      serviceArn,
      // The execution id names one run of the hook across its re-invocations; the revision stands in without it.
      execution: event.executionId ?? event.resourceArn ?? revision ?? serviceArn,
    };
  });
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
    const key = { pk: `HOOK#${event.execution}`, sk: `STAGE#${event.lifecycleStage}` };
    const { Item } = await this.deps.documents.send(
      new GetCommand({ TableName: this.deps.tableName, Key: key, ConsistentRead: true }),
    );
    const previous = (Item as Progress | undefined) ?? { passes: 0, attempts: 0, status: 'IN_PROGRESS', reason: '' };
    if (previous.status !== 'IN_PROGRESS') return this.answer(previous, located.env.lifecycleHook.callBackDelaySeconds);

    const run = await this.runChecks(located.app, located.environment);
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

  private async runChecks(app: string, environment: string): Promise<{ ok: boolean; reason: string }> {
    const env = this.deps.config.apps[app]?.environments[environment];
    const targets: ProbeTarget[] = (env?.health ?? []).map((check, index) => ({
      app,
      environment,
      check,
      checkName: checkName(check, index),
    }));
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
