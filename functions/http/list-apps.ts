import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute({ name: 'listApps', access: 'read' }, deps, async () => ({
    status: 200,
    body: await deps.deployments.apps(),
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
