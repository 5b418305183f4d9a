import type { Credentials } from '../../lib/auth/token-source';
import { apiRoutes } from '../../lib/http/registry';
import { httpRoute } from '../../lib/http/route-chain';
import type { Restores } from '../../lib/restore/restores';
import { restores } from '../../lib/wiring/restores';
import { tokens } from '../../lib/wiring/tokens';

export interface GetRestoreDeps {
  tokens: Credentials;
  restores: Pick<Restores, 'get'>;
}

export function makeHandler(deps: GetRestoreDeps) {
  return httpRoute(apiRoutes.getRestore, deps, async ({ path }) => ({
    status: 200,
    body: { restore: await deps.restores.get(path.id) },
  }));
}

export const handler = makeHandler({ tokens: tokens(), restores: restores() });
