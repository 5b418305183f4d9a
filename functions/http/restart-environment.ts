import { common, type DeploymentRequestDeps, deploymentRequestRoute } from '../../lib/http/deployment-requests';
import * as routes from '../../lib/http/route-specs';
import { deploymentRequestDeps } from '../../lib/wiring/deployment-requests';

export function makeHandler(deps: DeploymentRequestDeps) {
  return deploymentRequestRoute(routes.restartEnvironment, deps, ({ body, path }) => ({
    app: path.app,
    environment: path.env,
    target: { kind: 'restart' },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRequestDeps());
