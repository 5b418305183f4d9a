import { z } from 'zod';
import { clients } from '../../lib/aws/clients';
import type { Deployments } from '../../lib/deploy/deployments';
import { sqsDeadLetters } from '../../lib/events/dead-letter';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { runtime } from '../../lib/runtime';
import { deployments } from '../../lib/runtime/deployments';

export interface ReconcileDeploymentsDeps extends EventHandlerDeps {
  deployments: Pick<Deployments, 'reconcile'>;
}

/** EventBridge's `Scheduled Event` (and `npm start`'s copy of it). */
export const scheduledEvent = z.object({
  id: z.string().min(1),
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  time: z.string(),
});

/** Every few minutes: settle the deployments whose ECS events were lost. */
export function makeHandler(deps: ReconcileDeploymentsDeps) {
  return eventHandler({ name: 'reconcileDeployments', schema: scheduledEvent }, deps, async () => {
    const settled = await deps.deployments.reconcile();
    logger.info('in-flight deployments reconciled', { count: settled.length, settled });
    return { settled };
  });
}

function defaultDeps(): ReconcileDeploymentsDeps {
  return { deployments: deployments(), deadLetters: sqsDeadLetters(clients.sqs(), runtime().env.deadLetterQueueUrl) };
}

export const handler = makeHandler(defaultDeps());
