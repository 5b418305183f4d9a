import { type AuditRecorder, auditTrail } from '../audit/trail';
import { createDocumentClient } from '../aws/clients/dynamodb';
import { shared } from '../aws/shared-clients';
import { AuditStore } from '../store/audit';
import { config } from './config';
import { environment } from './environment';

let cachedStore: AuditStore | undefined;
let cachedTrail: AuditRecorder | undefined;

/** The audit entries on the state table, kept for the configured retention. */
export function auditStore(): AuditStore {
  cachedStore ??= new AuditStore(shared(createDocumentClient), environment().stateTable, config().audit.retentionDays);
  return cachedStore;
}

/** What every mutating route and every automatic action records into, once per container. */
export function audit(): AuditRecorder {
  cachedTrail ??= auditTrail(auditStore());
  return cachedTrail;
}
