import type { AuditRecorder } from '../../lib/audit/trail';
import type { Credentials } from '../../lib/auth/token-source';
import type { Archives } from '../../lib/backup/archives';
import { auditedRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import type { Restores } from '../../lib/restore/restores';
import { archiveJobs } from '../../lib/wiring/archives';
import { audit } from '../../lib/wiring/audit';
import { tokens } from '../../lib/wiring/tokens';
import { restoreRequestsAnywhere } from '../../lib/wiring/vault';

export interface CreateRestoreDeps {
  tokens: Credentials;
  audit: AuditRecorder;
  restores: Pick<Restores, 'request'>;
  archives: Pick<Archives, 'restore'>;
  now?: () => Date;
}

/**
 * `POST /v1/restores` (admin only). RDS: into a new identifier, never over a live database.
 * A volume: into a directory inside it that is empty or new. A dump: into a database on the same
 * server that is not the source and holds nothing. Overwriting takes `force: true`.
 */
export function makeHandler(deps: CreateRestoreDeps) {
  const now = deps.now ?? (() => new Date());
  return auditedRoute(routes.createRestore, deps, async ({ body, principal }) => {
    const requestedBy = principal?.name ?? 'unknown';
    let restore: { id: string };
    if (body.kind === 'volume') {
      const stamp = now()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      restore = await deps.archives.restore({
        subject: { volume: body.volume },
        ...(body.backupId ? { backupId: body.backupId } : {}),
        // Beside what is there, never over it, unless the caller names a path and forces.
        target: { path: body.targetPath ?? `restored-${stamp}` },
        force: body.force,
        requestedBy,
      });
    } else if (body.kind === 'postgres-dump') {
      restore = await deps.archives.restore({
        subject: { database: body.database },
        ...(body.backupId ? { backupId: body.backupId } : {}),
        target: { database: body.targetDatabase },
        force: body.force,
        requestedBy,
      });
    } else {
      restore = await deps.restores.request({
        database: body.database,
        ...(body.backupId ? { backupId: body.backupId } : {}),
        ...(body.pointInTime ? { pointInTime: body.pointInTime } : {}),
        targetIdentifier: body.targetIdentifier,
        ...(body.account ? { account: body.account } : {}),
        ...(body.region ? { region: body.region } : {}),
        ...(body.overrides ? { overrides: body.overrides } : {}),
        requestedBy,
      });
    }
    return { status: 202, body: { restore }, headers: { location: `/v1/restores/${restore.id}` } };
  });
}

export const handler = makeHandler({
  tokens: tokens(),
  audit: audit(),
  restores: restoreRequestsAnywhere(),
  archives: archiveJobs(),
});
