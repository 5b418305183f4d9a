import { common, type DeploymentRequestDeps, deploymentRequestRoute } from '../../lib/http/deployment-requests';
import { apiRoutes } from '../../lib/http/registry';
import { deploymentRequestDeps } from '../../lib/wiring/deployment-requests';

export function makeHandler(deps: DeploymentRequestDeps) {
  return deploymentRequestRoute(apiRoutes.scaleEnvironment, deps, ({ body, path }) => ({
    app: path.app,
    environment: path.env,
    target: { kind: 'scale', desiredCount: body.desiredCount },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRequestDeps());
