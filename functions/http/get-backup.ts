import type { Credentials } from '../../lib/auth/token-source';
import { NotFound } from '../../lib/errors';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import type { BackupStore } from '../../lib/store/backups';
import { backupStore } from '../../lib/wiring/stores';
import { tokens } from '../../lib/wiring/tokens';

export interface GetBackupDeps {
  tokens: Credentials;
  store: Pick<BackupStore, 'get'>;
}

export function makeHandler(deps: GetBackupDeps) {
  return httpRoute(routes.getBackup, deps, async ({ path }) => {
    const backup = await deps.store.get(path.id);
    if (!backup) throw new NotFound(`no backup ${path.id}`);
    return { status: 200, body: { backup } };
  });
}

export const handler = makeHandler({ tokens: tokens(), store: backupStore() });
