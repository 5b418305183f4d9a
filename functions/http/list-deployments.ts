import type { Credentials } from '../../lib/auth/token-source';
import type { DeploymentReads } from '../../lib/deploy/queries';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import { deploymentReads } from '../../lib/wiring/deployment-reads';
import { tokens } from '../../lib/wiring/tokens';

export function makeHandler(deps: { tokens: Credentials; deployments: Pick<DeploymentReads, 'history'> }) {
  return httpRoute(routes.listDeployments, deps, async ({ path, query }) => {
    const page = await deps.deployments.history(path.app, path.env, {
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { status: 200, body: { deployments: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) } };
  });
}

export const handler = makeHandler({ tokens: tokens(), deployments: deploymentReads() });
