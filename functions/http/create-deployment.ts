import { common, type DeploymentRequestDeps, deploymentRequestRoute } from '../../lib/http/deployment-requests';
import * as routes from '../../lib/http/route-specs';
import { deploymentRequestDeps } from '../../lib/wiring/deployment-requests';

export function makeHandler(deps: DeploymentRequestDeps) {
  return deploymentRequestRoute(routes.createDeployment, deps, ({ body }) => ({
    app: body.app,
    environment: body.environment,
    target:
      body.tag !== undefined ? { kind: 'deploy', tag: body.tag } : { kind: 'deploy', digest: body.digest as string },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRequestDeps());
