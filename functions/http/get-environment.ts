import type { Credentials } from '../../lib/auth/token-source';
import type { Deployments } from '../../lib/deploy/deployments';
import { apiRoutes } from '../../lib/http/registry';
import { httpRoute } from '../../lib/http/route-chain';
import { deployments } from '../../lib/wiring/deployments';
import { tokens } from '../../lib/wiring/tokens';

export function makeHandler(deps: { tokens: Credentials; deployments: Pick<Deployments, 'environment'> }) {
  return httpRoute(apiRoutes.getEnvironment, deps, async ({ path }) => ({
    status: 200,
    body: { environment: await deps.deployments.environment(path.app, path.env) },
  }));
}

export const handler = makeHandler({ tokens: tokens(), deployments: deployments() });
