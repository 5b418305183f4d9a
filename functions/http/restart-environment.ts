import { common, type DeploymentRequestDeps, deploymentRequestRoute } from '../../lib/http/deployment-requests';
import { apiRoutes } from '../../lib/http/registry';
import { deploymentRequestDeps } from '../../lib/wiring/deployment-requests';

export function makeHandler(deps: DeploymentRequestDeps) {
  return deploymentRequestRoute(apiRoutes.restartEnvironment, deps, ({ body, path }) => ({
    app: path.app,
    environment: path.env,
    target: { kind: 'restart' },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRequestDeps());
