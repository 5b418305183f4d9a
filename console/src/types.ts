import type { AuditEntry } from '../../lib/audit/records';
import type { Permission, Principal } from '../../lib/auth/principal';
import type { AnyBackupRecord, AnyRestoreRecord } from '../../lib/backup/records';
import type { DeploymentRecord } from '../../lib/deploy/records';

/**
 * What the console reads from the control plane. The records keep their types in lib/*\/records.ts (type
 * imports only: nothing of the server is bundled through them); the envelopes are the routes' answers.
 */

export type { AnyBackupRecord, AnyRestoreRecord, AuditEntry, DeploymentRecord };

/** `GET /console/config.json`: the console's OIDC client, as the server read it from the issuer's discovery. */
export interface ConsoleConfig {
  issuer: string;
  clientId: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  endSessionEndpoint?: string;
  scopes: string[];
  stage: string;
  sandbox: boolean;
}

/** `GET /v1/me`'s principal: who the token makes the caller, and what its roles let it do. */
export interface Me extends Principal {
  permissions: Permission[];
}

export interface HealthCheckResult {
  check: string;
  url: string;
  ok: boolean;
  status?: number;
  latencyMs?: number;
  reason?: string;
}

/** `GET /v1/apps/{app}/environments/{env}`'s environment (lib/deploy/environment-view.ts, with the probes' health). */
export interface EnvironmentView {
  app: string;
  environment: string;
  cluster: string;
  service: string;
  approvals: number;
  promoteFrom?: string;
  running?: {
    taskDefinitionArn?: string;
    images: Record<string, string>;
    digest?: string;
    desiredCount?: number;
    runningCount?: number;
    pendingCount?: number;
    status?: string;
  };
  lastDeployment?: DeploymentRecord;
  inFlight?: DeploymentRecord;
  health?: { checkedAt: string; checks: HealthCheckResult[] };
}

/** `GET /v1/apps`: every app and its environments (the board reads each environment's view beside it). */
export interface AppListing {
  name: string;
  repository: string;
  containers: string[];
  environments: Array<{ name: string; approvals: number; promoteFrom?: string }>;
}
