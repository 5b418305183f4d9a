import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(apiRoutes.getEnvironment, deps, async ({ path }) => ({
    status: 200,
    body: { environment: await deps.deployments.environment(path.app, path.env) },
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
