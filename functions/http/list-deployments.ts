import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(apiRoutes.listDeployments, deps, async ({ path, query }) => {
    const page = await deps.deployments.history(path.app, path.env, {
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { status: 200, body: { deployments: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) } };
  });
}

export const handler = makeHandler(deploymentRouteDeps());
