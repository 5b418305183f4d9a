import { environmentPath } from '../../lib/deploy/api';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute({ name: 'getEnvironment', access: 'read', path: environmentPath }, deps, async ({ path }) => ({
    status: 200,
    body: { environment: await deps.deployments.environment(path.app, path.env) },
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
