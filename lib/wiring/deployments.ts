import { createEcrClient } from '../aws/clients/ecr';
import { sharedByRegion } from '../aws/shared-clients';
import type { DeploymentRequest, Deployments } from '../deploy/deployments';
import { deploymentsContext } from '../deploy/deployments-context';
import { deploymentHistory } from '../deploy/queries';
import { requestDeployment } from '../deploy/requests';
import { rolloutDeps } from './deployment-rollouts';

/** Repositories may live in another region than the control plane. */
export const ecrFor = sharedByRegion(createEcrClient);

let cached: Pick<Deployments, 'request' | 'history'> | undefined;

/**
 * Requests for a deployment (the routes, releases, alarms), once per container: the only part of the
 * deploy use case that reads the registry, to resolve a tag or a digest.
 */
export function deploymentRequests(): Pick<Deployments, 'request' | 'history'> {
  if (cached) return cached;
  const context = deploymentsContext({ ...rolloutDeps(), ecrFor });
  cached = {
    request: (input: DeploymentRequest) => requestDeployment(context, input),
    history: (app: string, env: string, page: { limit?: number; cursor?: string }) =>
      deploymentHistory(context.deps, app, env, page),
  };
  return cached;
}
