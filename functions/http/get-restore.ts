import type { Credentials } from '../../lib/auth/token-source';
import { NotFound } from '../../lib/errors';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import type { RestoreStore } from '../../lib/store/backups';
import { restoreStore } from '../../lib/wiring/stores';
import { tokens } from '../../lib/wiring/tokens';

export interface GetRestoreDeps {
  tokens: Credentials;
  store: Pick<RestoreStore, 'get'>;
}

export function makeHandler(deps: GetRestoreDeps) {
  return httpRoute(routes.getRestore, deps, async ({ path }) => {
    const restore = await deps.store.get(path.id);
    if (!restore) throw new NotFound(`no restore ${path.id}`);
    return { status: 200, body: { restore } };
  });
}

export const handler = makeHandler({ tokens: tokens(), store: restoreStore() });
