import { environmentPath, promoteBody } from '../../lib/deploy/api';
import { common, deploymentRequestRoute } from '../../lib/deploy/routes';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: DeploymentRouteDeps) {
  return deploymentRequestRoute(
    { name: 'promoteEnvironment', body: promoteBody, path: environmentPath },
    deps,
    ({ body, path }) => ({
      app: path.app,
      environment: path.env,
      target: { kind: 'promote', ...(body.from ? { from: body.from } : {}) },
      ...common(body),
    }),
  );
}

export const handler = makeHandler(deploymentRouteDeps());
