import { requesterOf } from '../../lib/deploy/api';
import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(apiRoutes.cancelDeployment, deps, async ({ path, principal }) => ({
    status: 200,
    body: { deployment: await deps.deployments.cancel(path.id, requesterOf(principal)) },
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
