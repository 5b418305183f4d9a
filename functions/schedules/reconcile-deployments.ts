import type { Deployments } from '../../lib/deploy/deployments';
import { type EventHandlerDeps, eventHandler, scheduledEventSchema } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { deploymentSettlement } from '../../lib/wiring/deployment-rollouts';
import { eventHandlerDeps } from '../../lib/wiring/events';

export interface ReconcileDeploymentsDeps extends EventHandlerDeps {
  deployments: Pick<Deployments, 'reconcile'>;
}

/** Every few minutes: settle the deployments whose ECS events were lost. */
export function makeHandler(deps: ReconcileDeploymentsDeps) {
  return eventHandler({ name: 'reconcileDeployments', schema: scheduledEventSchema }, deps, async () => {
    const settled = await deps.deployments.reconcile();
    logger.info('in-flight deployments reconciled', { count: settled.length, settled });
    return { settled };
  });
}

function defaultDeps(): ReconcileDeploymentsDeps {
  return { deployments: deploymentSettlement(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
