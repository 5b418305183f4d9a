import type { Role } from '../auth/principal';

// The audit trail's entries as stored and listed: plain data, which lib/store/audit.ts persists.

/** A request to the API, or something Slipway did by itself (on an event or a schedule). */
export type AuditSource = 'http' | 'automatic';
export type AuditDecision = 'allowed' | 'denied';
export type AuditResult = 'succeeded' | 'failed' | 'refused';

export interface AuditOutcome {
  result: AuditResult;
  /** The HTTP status answered, for requests. */
  status?: number;
  /** The error code (CONFLICT, FORBIDDEN…) or the state reached (IN_PROGRESS, AVAILABLE…). */
  code?: string;
  /** Why, in a sentence: the error a client was shown, or what the action decided. */
  detail?: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  source: AuditSource;
  /** The principal's name; for automatic actions the trigger: `ecr-push`, `alarm:<name>`, `schedule`, `drill`. */
  actor: string;
  roles?: Role[];
  /** The route's operation name, or what Slipway did by itself (`release.deploy`, `backup.delete`…). */
  action: string;
  decision: AuditDecision;
  /** What was acted on: app, environment, deployment, backup, restore, database, volume… */
  target: Record<string, string>;
  outcome: AuditOutcome;
  /** The API Gateway request id, for requests. */
  requestId?: string;
  /** The address the request came from, as API Gateway saw it. */
  sourceIp?: string;
  /**
   * Set on the one entry kept for requests refused before their caller was known, per source address
   * and minute: the others are counted (UnauthenticatedRequests), not stored.
   */
  sampled?: true;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;

/** Where entries are stored (lib/store/audit.ts on the state table). */
export interface AuditSink {
  /** Stores the entry unless one with its id and time is there already: then answers false. */
  put(entry: AuditEntry): Promise<boolean>;
}
