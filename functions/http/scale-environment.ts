import { environmentPath, scaleBody } from '../../lib/deploy/api';
import { common, deploymentRequestRoute } from '../../lib/deploy/routes';
import { type DeploymentRouteDeps, deploymentRouteDeps } from '../../lib/runtime/deployments';

export function makeHandler(deps: DeploymentRouteDeps) {
  return deploymentRequestRoute(
    { name: 'scaleEnvironment', body: scaleBody, path: environmentPath },
    deps,
    ({ body, path }) => ({
      app: path.app,
      environment: path.env,
      target: { kind: 'scale', desiredCount: body.desiredCount },
      ...common(body),
    }),
  );
}

export const handler = makeHandler(deploymentRouteDeps());
