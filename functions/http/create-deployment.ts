import { common, deploymentRequestRoute } from '../../lib/deploy/routes';
import { apiRoutes } from '../../lib/http/api-routes';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: DeploymentRouteDeps) {
  return deploymentRequestRoute(apiRoutes.createDeployment, deps, ({ body }) => ({
    app: body.app,
    environment: body.environment,
    target:
      body.tag !== undefined ? { kind: 'deploy', tag: body.tag } : { kind: 'deploy', digest: body.digest as string },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
