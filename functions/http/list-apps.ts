import { visibleApps } from '../../lib/auth/scope';
import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(apiRoutes.listApps, deps, async ({ principal }) => {
    const { apps } = await deps.deployments.apps();
    return { status: 200, body: { apps: visibleApps(principal, apps) } };
  });
}

export const handler = makeHandler(deploymentRouteDeps());
