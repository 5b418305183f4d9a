import { type AuditRecorder, auditTrail } from '../audit/trail';
import { clients } from '../aws/traced-clients';
import { AuditStore } from '../store/audit';
import { runtime } from '.';

let cachedStore: AuditStore | undefined;
let cachedTrail: AuditRecorder | undefined;

/** The audit entries on the state table, kept for the configured retention. */
export function auditStore(): AuditStore {
  const { env, config } = runtime();
  cachedStore ??= new AuditStore(clients.documents(), env.stateTable, config.audit.retentionDays);
  return cachedStore;
}

/** What every mutating route and every automatic action records into, once per container. */
export function audit(): AuditRecorder {
  cachedTrail ??= auditTrail(auditStore());
  return cachedTrail;
}
