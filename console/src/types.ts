import type { AuditEntry } from '../../lib/audit/records';
import type { ConsoleSettings } from '../../lib/auth/console-sign-in';
import type { Permission, Principal } from '../../lib/auth/principal';
import type { AnyBackupRecord, AnyRestoreRecord } from '../../lib/backup/records';
import type { DeploymentRecord, EnvironmentView } from '../../lib/deploy/records';
import type { CheckResult } from '../../lib/health/records';

/**
 * What the console reads from the control plane. The records keep their types in lib/*\/records.ts (type
 * imports only: nothing of the server is bundled through them); the envelopes are the routes' answers.
 */

export type {
  AnyBackupRecord,
  AnyRestoreRecord,
  AuditEntry,
  CheckResult as HealthCheckResult,
  DeploymentRecord,
  EnvironmentView,
};

/** `GET /console/config.json`: the console's OIDC client, as the server read it from the issuer's discovery. */
export type ConsoleConfig = ConsoleSettings;

/** `GET /v1/me`'s principal: who the token makes the caller, and what its roles let it do. */
export interface Me extends Principal {
  permissions: Permission[];
}

/** `GET /v1/apps`: every app and its environments (the board reads each environment's view beside it). */
export interface AppListing {
  name: string;
  repository: string;
  containers: string[];
  environments: Array<{ name: string; approvals: number; promoteFrom?: string }>;
}
