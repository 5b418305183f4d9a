import { common, deploymentRequestRoute } from '../../lib/deploy/routes';
import { apiRoutes } from '../../lib/http/api-routes';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: DeploymentRouteDeps) {
  return deploymentRequestRoute(apiRoutes.restartEnvironment, deps, ({ body, path }) => ({
    app: path.app,
    environment: path.env,
    target: { kind: 'restart' },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
