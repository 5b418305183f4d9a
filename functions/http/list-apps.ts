import { visibleApps } from '../../lib/auth/scope';
import type { Credentials } from '../../lib/auth/token-source';
import type { DeploymentReads } from '../../lib/deploy/queries';
import * as routes from '../../lib/http/no-input-route-specs';
import { httpRoute } from '../../lib/http/route-chain';
import { deploymentReads } from '../../lib/wiring/deployment-reads';
import { tokens } from '../../lib/wiring/tokens';

export function makeHandler(deps: { tokens: Credentials; deployments: Pick<DeploymentReads, 'apps'> }) {
  return httpRoute(routes.listApps, deps, async ({ principal }) => {
    const { apps } = await deps.deployments.apps();
    return { status: 200, body: { apps: visibleApps(principal, apps) } };
  });
}

export const handler = makeHandler({ tokens: tokens(), deployments: deploymentReads() });
