import type { AuditRecorder } from '../../lib/audit/trail';
import type { Credentials } from '../../lib/auth/token-source';
import type { Archives } from '../../lib/backup/archives';
import type { Backups } from '../../lib/backup/backups';
import { auditedRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import { archiveJobs } from '../../lib/wiring/archives';
import { audit } from '../../lib/wiring/audit';
import { snapshotTaking } from '../../lib/wiring/backups';
import { tokens } from '../../lib/wiring/tokens';

export interface TakeBackupDeps {
  tokens: Credentials;
  audit: AuditRecorder;
  backups: Pick<Backups, 'take'>;
  archives: Pick<Archives, 'take'>;
}

/** `POST /v1/backups`: a snapshot `{database}`, a dump `{database, kind: postgres-dump}` or an archive `{volume}` now. */
export function makeHandler(deps: TakeBackupDeps) {
  return auditedRoute(routes.takeBackup, deps, async ({ body, principal }) => {
    const trigger = `api:${principal?.name ?? 'unknown'}`;
    const backup =
      body.volume !== undefined
        ? await deps.archives.take({ volume: body.volume }, trigger)
        : body.kind === 'postgres-dump'
          ? await deps.archives.take({ database: body.database as string }, trigger)
          : await deps.backups.take(body.database as string, trigger);
    const started = backup.status === 'CREATING' || backup.status === 'QUEUED';
    return {
      status: started ? 202 : 200,
      body: { backup },
      headers: { location: `/v1/backups/${backup.id}` },
    };
  });
}

export const handler = makeHandler({
  tokens: tokens(),
  audit: audit(),
  backups: snapshotTaking(),
  archives: archiveJobs(),
});
