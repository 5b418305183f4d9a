import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(apiRoutes.listApps, deps, async () => ({
    status: 200,
    body: await deps.deployments.apps(),
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
