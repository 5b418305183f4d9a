import type { Credentials } from '../../lib/auth/token-source';
import { NotFound } from '../../lib/errors';
import { apiRoutes } from '../../lib/http/registry';
import { httpRoute } from '../../lib/http/route-chain';
import type { RestoreStore } from '../../lib/store/backups';
import { restoreStore } from '../../lib/wiring/stores';
import { tokens } from '../../lib/wiring/tokens';

export interface GetRestoreDeps {
  tokens: Credentials;
  store: Pick<RestoreStore, 'get'>;
}

export function makeHandler(deps: GetRestoreDeps) {
  return httpRoute(apiRoutes.getRestore, deps, async ({ path }) => {
    const restore = await deps.store.get(path.id);
    if (!restore) throw new NotFound(`no restore ${path.id}`);
    return { status: 200, body: { restore } };
  });
}

export const handler = makeHandler({ tokens: tokens(), store: restoreStore() });
