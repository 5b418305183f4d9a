import { createDeploymentBody } from '../../lib/deploy/api';
import { common, deploymentRequestRoute } from '../../lib/deploy/routes';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: DeploymentRouteDeps) {
  return deploymentRequestRoute({ name: 'createDeployment', body: createDeploymentBody }, deps, ({ body }) => ({
    app: body.app,
    environment: body.environment,
    target:
      body.tag !== undefined ? { kind: 'deploy', tag: body.tag } : { kind: 'deploy', digest: body.digest as string },
    ...common(body),
  }));
}

export const handler = makeHandler(deploymentRouteDeps());
