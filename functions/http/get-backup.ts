import type { TokenSource } from '../../lib/auth/token-source';
import { clients } from '../../lib/aws/traced-clients';
import { NotFound } from '../../lib/errors';
import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { runtime } from '../../lib/runtime';
import { BackupStore } from '../../lib/store/backups';

export interface GetBackupDeps {
  tokens: TokenSource;
  store: Pick<BackupStore, 'get'>;
}

export function makeHandler(deps: GetBackupDeps) {
  return httpRoute(apiRoutes.getBackup, deps, async ({ path }) => {
    const backup = await deps.store.get(path.id);
    if (!backup) throw new NotFound(`no backup ${path.id}`);
    return { status: 200, body: { backup } };
  });
}

export const handler = makeHandler({
  tokens: runtime().tokens,
  store: new BackupStore(clients.documents(), runtime().env.stateTable),
});
