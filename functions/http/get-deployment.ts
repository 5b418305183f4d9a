import { requireScope } from '../../lib/auth/scope';
import type { Credentials } from '../../lib/auth/token-source';
import type { DeploymentReads } from '../../lib/deploy/queries';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import { deploymentReads } from '../../lib/wiring/deployment-reads';
import { tokens } from '../../lib/wiring/tokens';

export function makeHandler(deps: { tokens: Credentials; deployments: Pick<DeploymentReads, 'get'> }) {
  return httpRoute(routes.getDeployment, deps, async ({ path, principal }) => {
    const deployment = await deps.deployments.get(path.id);
    requireScope(principal, deployment);
    return { status: 200, body: { deployment } };
  });
}

export const handler = makeHandler({ tokens: tokens(), deployments: deploymentReads() });
