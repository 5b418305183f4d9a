import { deploymentPath, requesterOf } from '../../lib/deploy/api';
import { httpRoute } from '../../lib/http/route';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: Pick<DeploymentRouteDeps, 'tokens' | 'deployments'>) {
  return httpRoute(
    { name: 'cancelDeployment', access: 'deploy', path: deploymentPath },
    deps,
    async ({ path, principal }) => ({
      status: 200,
      body: { deployment: await deps.deployments.cancel(path.id, requesterOf(principal)) },
    }),
  );
}

export const handler = makeHandler(deploymentRouteDeps());
