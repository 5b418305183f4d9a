import type { TokenSource } from '../../lib/auth/token-source';
import { takeBackupBody } from '../../lib/backup/api';
import type { Backups } from '../../lib/backup/backups';
import { httpRoute } from '../../lib/http/route';
import { runtime } from '../../lib/runtime';
import { backups } from '../../lib/runtime/backups';

export interface TakeBackupDeps {
  tokens: TokenSource;
  backups: Pick<Backups, 'take'>;
}

/** `POST /v1/backups {database}`: a snapshot now, besides the schedule. */
export function makeHandler(deps: TakeBackupDeps) {
  return httpRoute(
    { name: 'takeBackup', access: 'deploy', body: takeBackupBody },
    deps,
    async ({ body, principal }) => {
      const backup = await deps.backups.take(body.database, `api:${principal?.name ?? 'unknown'}`);
      return {
        status: backup.status === 'CREATING' ? 202 : 200,
        body: { backup },
        headers: { location: `/v1/backups/${backup.id}` },
      };
    },
  );
}

export const handler = makeHandler({ tokens: runtime().tokens, backups: backups() });
