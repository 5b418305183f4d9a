import { requireScope } from '../../lib/auth/scope';
import { requesterOf } from '../../lib/deploy/api';
import { apiRoutes } from '../../lib/http/api-routes';
import { auditedRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'audit' | 'deployments'>) {
  return auditedRoute(apiRoutes.cancelDeployment, deps, async ({ path, principal }) => {
    // The deployment's own app and environment decide: checked after loading it, before acting on it.
    requireScope(principal, await deps.deployments.get(path.id));
    return { status: 200, body: { deployment: await deps.deployments.cancel(path.id, requesterOf(principal)) } };
  });
}

export const handler = makeHandler(deploymentRouteDeps());
