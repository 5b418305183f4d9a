import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type HookAnswer, type LifecycleHook, lifecycleHookEvent } from '../../lib/health/lifecycle-hook';
import { logger, metrics } from '../../lib/observability';
import { lifecycleHook } from '../../lib/wiring/lifecycle-hook';

export interface EcsLifecycleHookDeps {
  hook: Pick<LifecycleHook, 'handle'>;
}

/**
 * The function an ECS service names as a deployment lifecycle hook. ECS rolls back whenever the
 * function fails or answers FAILED, so a payload it cannot read is answered FAILED, with a log line.
 */
export function makeHandler(deps: EcsLifecycleHookDeps) {
  const core = async (event: unknown): Promise<HookAnswer> => {
    const parsed = lifecycleHookEvent.safeParse(event);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      logger.error('lifecycle hook payload not understood', {
        issue: first ? `${first.path.join('.')}: ${first.message}` : 'invalid',
      });
      return { hookStatus: 'FAILED' };
    }
    return deps.hook.handle(parsed.data);
  };
  return middy<unknown, HookAnswer, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(core);
}

export const handler = makeHandler({ hook: lifecycleHook() });
