import { common, deploymentRequestRoute } from '../../lib/deploy/routes';
import { apiRoutes } from '../../lib/http/api-routes';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: DeploymentRouteDeps) {
  return deploymentRequestRoute(apiRoutes.promoteEnvironment, deps, ({ body, path }) => ({
    app: path.app,
    environment: path.env,
    target: { kind: 'promote', ...(body.from ? { from: body.from } : {}) },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
