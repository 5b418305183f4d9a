import { audit } from './audit';
import { deploymentRequests } from './deployments';
import { idempotency } from './idempotency';
import { tokens } from './tokens';

/** What the routes that ask for a deployment (deploy, promote, rollback, restart, scale) are built from. */
export function deploymentRequestDeps() {
  return { tokens: tokens(), audit: audit(), deployments: deploymentRequests(), idempotency: idempotency() };
}
