import type { AuditRecorder } from '../../lib/audit/trail';
import { requireScope } from '../../lib/auth/scope';
import type { Credentials } from '../../lib/auth/token-source';
import type { Deployments } from '../../lib/deploy/deployments';
import { requesterOf } from '../../lib/http/deployment-requests';
import { auditedRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import { audit } from '../../lib/wiring/audit';
import { deploymentCancellations } from '../../lib/wiring/deployment-cancellations';
import { tokens } from '../../lib/wiring/tokens';

export interface CancelDeploymentDeps {
  tokens: Credentials;
  audit: AuditRecorder;
  deployments: Pick<Deployments, 'get' | 'cancel'>;
}

export function makeHandler(deps: CancelDeploymentDeps) {
  return auditedRoute(routes.cancelDeployment, deps, async ({ path, principal }) => {
    // The deployment's own app and environment decide: checked after loading it, before acting on it.
    requireScope(principal, await deps.deployments.get(path.id));
    return { status: 200, body: { deployment: await deps.deployments.cancel(path.id, requesterOf(principal)) } };
  });
}

export const handler = makeHandler({ tokens: tokens(), audit: audit(), deployments: deploymentCancellations() });
