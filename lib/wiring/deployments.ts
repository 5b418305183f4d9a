import { createDocumentClient } from '../aws/clients/dynamodb';
import { createEcrClient } from '../aws/clients/ecr';
import { createEcsClient } from '../aws/clients/ecs';
import { shared, sharedByRegion } from '../aws/shared-clients';
import { Deployments } from '../deploy/deployments';
import { DeploymentStore } from '../store/deployments';
import { EnvironmentLocks } from '../store/locks';
import { audit } from './audit';
import { config } from './config';
import { environment } from './environment';
import { publisher } from './notifications';

/** Repositories may live in another region than the control plane. */
export const ecrFor = sharedByRegion(createEcrClient);

let cached: Deployments | undefined;

/** The deploy use case, once per container: what deployment requests, outcomes and the reconciler run on. */
export function deployments(): Deployments {
  if (cached) return cached;
  const { stage, stateTable } = environment();
  const documents = shared(createDocumentClient);
  cached = new Deployments({
    config: config(),
    stage,
    store: new DeploymentStore(documents, stateTable),
    locks: new EnvironmentLocks(documents, stateTable),
    ecs: shared(createEcsClient),
    ecrFor,
    publisher: publisher(),
    audit: audit(),
  });
  return cached;
}
