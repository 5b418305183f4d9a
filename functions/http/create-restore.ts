import type { TokenSource } from '../../lib/auth/token-source';
import { createRestoreBody } from '../../lib/backup/api';
import { httpRoute } from '../../lib/http/route';
import type { Restores } from '../../lib/restore/restores';
import { runtime } from '../../lib/runtime';
import { restores } from '../../lib/runtime/backups';

export interface CreateRestoreDeps {
  tokens: TokenSource;
  restores: Pick<Restores, 'request'>;
}

/** `POST /v1/restores`: into a new identifier, never over a live database (admin only). */
export function makeHandler(deps: CreateRestoreDeps) {
  return httpRoute(
    { name: 'createRestore', access: 'admin', body: createRestoreBody },
    deps,
    async ({ body, principal }) => {
      const restore = await deps.restores.request({
        database: body.database,
        ...(body.backupId ? { backupId: body.backupId } : {}),
        ...(body.pointInTime ? { pointInTime: body.pointInTime } : {}),
        targetIdentifier: body.targetIdentifier,
        ...(body.overrides ? { overrides: body.overrides } : {}),
        requestedBy: principal?.name ?? 'unknown',
      });
      return { status: 202, body: { restore }, headers: { location: `/v1/restores/${restore.id}` } };
    },
  );
}

export const handler = makeHandler({ tokens: runtime().tokens, restores: restores() });
