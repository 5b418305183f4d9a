import type { Credentials } from '../../lib/auth/token-source';
import type { Deployments } from '../../lib/deploy/deployments';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import { environmentViews } from '../../lib/wiring/environment-views';
import { tokens } from '../../lib/wiring/tokens';

export function makeHandler(deps: { tokens: Credentials; deployments: Pick<Deployments, 'environment'> }) {
  return httpRoute(routes.getEnvironment, deps, async ({ path, principal, requestId }) => ({
    status: 200,
    body: {
      environment: await deps.deployments.environment(path.app, path.env, {
        principal: principal?.name ?? 'anonymous',
        requestId,
      }),
    },
  }));
}

export const handler = makeHandler({ tokens: tokens(), deployments: environmentViews() });
