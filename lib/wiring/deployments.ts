import { createDocumentClient } from '../aws/clients/dynamodb';
import { createEcrClient } from '../aws/clients/ecr';
import { createEcsClient } from '../aws/clients/ecs';
import { shared, sharedByRegion } from '../aws/shared-clients';
import { Deployments } from '../deploy/deployments';
import { type DeploymentsDeps, deploymentsContext } from '../deploy/deployments-context';
import type { EcsDeploymentEvent } from '../deploy/outcome';
import { onEcsEvent, reconcileDeployments } from '../deploy/settlement';
import { DeploymentStore } from '../store/deployments';
import { EnvironmentLocks } from '../store/locks';
import { audit } from './audit';
import { config } from './config';
import { environment } from './environment';
import { publisher } from './notifications';

/** Repositories may live in another region than the control plane. */
export const ecrFor = sharedByRegion(createEcrClient);

let cachedDeps: DeploymentsDeps | undefined;
let cached: Deployments | undefined;

function deploymentsDeps(): DeploymentsDeps {
  if (cachedDeps) return cachedDeps;
  const { stage, stateTable } = environment();
  const documents = shared(createDocumentClient);
  cachedDeps = {
    config: config(),
    stage,
    store: new DeploymentStore(documents, stateTable),
    locks: new EnvironmentLocks(documents, stateTable),
    ecs: shared(createEcsClient),
    ecrFor,
    publisher: publisher(),
    audit: audit(),
  };
  return cachedDeps;
}

/** The deploy use case, once per container: what deployment requests, outcomes and the reconciler run on. */
export function deployments(): Deployments {
  cached ??= new Deployments(deploymentsDeps());
  return cached;
}

/**
 * How deployments end, alone: what the ECS events and the reconciler run, without the requests,
 * approvals and rollouts the Deployments front also holds.
 */
export function deploymentSettlement(): Pick<Deployments, 'onEcsEvent' | 'reconcile'> {
  const context = deploymentsContext(deploymentsDeps());
  return {
    onEcsEvent: (event: EcsDeploymentEvent) => onEcsEvent(context, event),
    reconcile: () => reconcileDeployments(context),
  };
}
