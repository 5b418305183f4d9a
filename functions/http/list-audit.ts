import { auditWindow } from '../../lib/audit/window';
import type { Credentials } from '../../lib/auth/token-source';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import type { AuditStore } from '../../lib/store/audit';
import { auditStore } from '../../lib/wiring/audit';
import { config } from '../../lib/wiring/config';
import { tokens } from '../../lib/wiring/tokens';

export interface ListAuditDeps {
  tokens: Credentials;
  store: Pick<AuditStore, 'list'>;
  retentionDays: number;
  now?: () => Date;
}

/** `GET /v1/audit`: the audit trail from `since` to `until`, oldest first, for admins; narrowed by actor, decision, action. */
export function makeHandler(deps: ListAuditDeps) {
  return httpRoute(routes.listAudit, deps, async ({ query }) => {
    const window = auditWindow(query, (deps.now ?? (() => new Date()))(), deps.retentionDays);
    const { actor, decision, action } = query;
    const page = await deps.store.list({
      ...window,
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
      filter: { ...(actor ? { actor } : {}), ...(decision ? { decision } : {}), ...(action ? { action } : {}) },
    });
    return { status: 200, body: { entries: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) } };
  });
}

export const handler = makeHandler({
  tokens: tokens(),
  store: auditStore(),
  retentionDays: config().audit.retentionDays,
});
