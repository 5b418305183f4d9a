import { describePrincipal, type Principal } from '../../lib/auth/principal';
import type { Credentials } from '../../lib/auth/token-source';
import * as routes from '../../lib/http/no-input-route-specs';
import { httpRoute } from '../../lib/http/route-chain';
import { tokens } from '../../lib/wiring/tokens';

export interface GetMeDeps {
  tokens: Credentials;
}

/** `GET /v1/me`: the caller as the routes judge it, so a client shows only what they will allow. */
export function makeHandler(deps: GetMeDeps) {
  return httpRoute(routes.getMe, deps, async ({ principal }) => ({
    status: 200,
    // A route that is not public has a principal once the chain lets the request through.
    body: { principal: describePrincipal(principal as Principal) },
  }));
}

export const handler = makeHandler({ tokens: tokens() });
