import type { Deployments } from '../../lib/deploy/deployments';
import { ecsDeploymentEvent } from '../../lib/deploy/outcome';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { controlPlaneHome } from '../../lib/wiring/accounts';
import { deploymentSettlement } from '../../lib/wiring/deployment-rollouts';
import { eventHandlerDeps } from '../../lib/wiring/events';

export interface EcsDeploymentStateDeps extends EventHandlerDeps {
  deployments: Pick<Deployments, 'onEcsEvent'>;
}

/** `ECS Deployment State Change` → the outcome of the deployment it concerns, if any. */
export function makeHandler(deps: EcsDeploymentStateDeps) {
  return eventHandler({ name: 'ecsDeploymentState', schema: ecsDeploymentEvent }, deps, async (event, context) => {
    const outcome = await deps.deployments.onEcsEvent(event, controlPlaneHome(context?.invokedFunctionArn));
    logger.info(outcome.applied ? 'deployment outcome applied' : 'event changed nothing', {
      eventId: event.id,
      eventName: event.detail.eventName,
      ecsDeploymentId: event.detail.deploymentId,
      ...outcome,
    });
    return outcome;
  });
}

function defaultDeps(): EcsDeploymentStateDeps {
  return { deployments: deploymentSettlement(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
