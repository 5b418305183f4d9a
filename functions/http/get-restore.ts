import type { TokenSource } from '../../lib/auth/token-source';
import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import type { Restores } from '../../lib/restore/restores';
import { runtime } from '../../lib/runtime';
import { restores } from '../../lib/runtime/backups';

export interface GetRestoreDeps {
  tokens: TokenSource;
  restores: Pick<Restores, 'get'>;
}

export function makeHandler(deps: GetRestoreDeps) {
  return httpRoute(apiRoutes.getRestore, deps, async ({ path }) => ({
    status: 200,
    body: { restore: await deps.restores.get(path.id) },
  }));
}

export const handler = makeHandler({ tokens: runtime().tokens, restores: restores() });
