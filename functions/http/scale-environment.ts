import { common, deploymentRequestRoute } from '../../lib/deploy/routes';
import { apiRoutes } from '../../lib/http/api-routes';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: DeploymentRouteDeps) {
  return deploymentRequestRoute(apiRoutes.scaleEnvironment, deps, ({ body, path }) => ({
    app: path.app,
    environment: path.env,
    target: { kind: 'scale', desiredCount: body.desiredCount },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
