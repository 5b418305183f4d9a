import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(apiRoutes.getDeployment, deps, async ({ path }) => ({
    status: 200,
    body: { deployment: await deps.deployments.get(path.id) },
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
