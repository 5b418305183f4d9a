import type { Deployments, DeploymentsDeps } from '../deploy/deployments';
import { deploymentsContext, type RolloutContext } from '../deploy/deployments-context';
import type { EcsDeploymentEvent } from '../deploy/outcome';
import type { Home } from '../deploy/placement';
import { getDeployment } from '../deploy/queries';
import type { Requester } from '../deploy/records';
import { approveDeployment } from '../deploy/requests';
import { onEcsEvent, reconcileDeployments } from '../deploy/settlement';
import { ecsFor } from './accounts';
import { audit } from './audit';
import { config } from './config';
import { environment } from './environment';
import { publisher } from './notifications';
import { deploymentStore, environmentLocks } from './stores';

/** Every port of the deploy use case but the registry, which only a request for a tag or digest reads. */
export type RolloutDeps = Omit<DeploymentsDeps, 'ecrFor'>;

let cachedDeps: RolloutDeps | undefined;

export function rolloutDeps(): RolloutDeps {
  cachedDeps ??= {
    config: config(),
    stage: environment().stage,
    store: deploymentStore(),
    locks: environmentLocks(),
    ecsFor,
    publisher: publisher(),
    audit: audit(),
  };
  return cachedDeps;
}

const rolloutContext = (): RolloutContext => deploymentsContext(rolloutDeps());

/**
 * How deployments end, alone: what the ECS events and the reconciler run, without the requests,
 * approvals and rollouts the Deployments front also holds.
 */
export function deploymentSettlement(): Pick<Deployments, 'onEcsEvent' | 'reconcile'> {
  const context = rolloutContext();
  return {
    onEcsEvent: (event: EcsDeploymentEvent, home: Home) => onEcsEvent(context, event, home),
    reconcile: () => reconcileDeployments(context),
  };
}

/** Approving a deployment, which starts its recorded image once enough approvals are in: no registry read. */
export function deploymentApprovals(): Pick<Deployments, 'get' | 'approve'> {
  const context = rolloutContext();
  return {
    get: (id: string) => getDeployment(context.deps, id),
    approve: (id: string, approver: Requester) => approveDeployment(context, id, approver),
  };
}
