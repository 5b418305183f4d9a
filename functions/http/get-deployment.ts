import { requireScope } from '../../lib/auth/scope';
import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(apiRoutes.getDeployment, deps, async ({ path, principal }) => {
    const deployment = await deps.deployments.get(path.id);
    requireScope(principal, deployment);
    return { status: 200, body: { deployment } };
  });
}

export const handler = makeHandler(deploymentRouteDeps());
