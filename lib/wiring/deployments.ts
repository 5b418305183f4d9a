import type { DeploymentRequest, Deployments } from '../deploy/deployments';
import { deploymentsContext } from '../deploy/deployments-context';
import { deploymentHistory } from '../deploy/queries';
import { requestDeployment } from '../deploy/requests';
import { ecrFor } from './accounts';
import { rolloutDeps } from './deployment-rollouts';

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
