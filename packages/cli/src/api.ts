/**
 * The control plane's answers as the command line reads them: the fields of README's HTTP API
 * (and /v1/openapi.json) that it shows, no more. The control plane's own records (lib/) carry
 * these and more; test/unit/cli/api-contract.test.ts checks that each of them still fits here.
 */

export type DeploymentState =
  | 'PENDING_APPROVAL'
  | 'IN_PROGRESS'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'ROLLED_BACK'
  | 'TIMED_OUT'
  | 'CANCELLED'
  | 'EXPIRED';

/** Still moving: waiting for approvals, or rolling out. Every other state is an end. */
export const IN_FLIGHT_STATES: readonly DeploymentState[] = ['PENDING_APPROVAL', 'IN_PROGRESS'];

/** The ends that are not a success. */
export const DEPLOYMENT_FAILURES: readonly DeploymentState[] = [
  'FAILED',
  'ROLLED_BACK',
  'TIMED_OUT',
  'CANCELLED',
  'EXPIRED',
];

export interface TimelineEntry {
  state: string;
  at: string;
  by?: string;
  note?: string;
}

export interface Revision {
  taskDefinitionArn?: string;
  digest?: string;
  images?: Record<string, string>;
  desiredCount?: number;
}

export interface DeploymentRecord {
  id: string;
  app: string;
  environment: string;
  kind: string;
  state: DeploymentState;
  requestedBy: { name: string };
  reason?: string;
  createdAt: string;
  updatedAt: string;
  to: Revision & { tag?: string; forceNewDeployment?: boolean };
  approvals: { required: number; by: unknown[] };
  failure?: { reason?: string };
  timeline: TimelineEntry[];
}

/** A dry run's answer. */
export interface DeploymentPlan {
  app: string;
  environment: string;
  kind: string;
  cluster: string;
  service: string;
  approvalsRequired: number;
  changes: Array<{ container: string; from?: string; to: string }>;
  from: Revision;
  to: DeploymentRecord['to'];
  taskDefinition: { registers: boolean; fieldsChanged: string[] };
}

export interface EnvironmentView {
  app: string;
  environment: string;
  cluster: string;
  service: string;
  approvals: number;
  promoteFrom?: string;
  /** What ECS runs: the revision, with its task counts and the service's status. */
  running?: Revision & { runningCount?: number; pendingCount?: number; status?: string };
  lastDeployment?: DeploymentRecord;
  inFlight?: DeploymentRecord;
}

export interface AppSummary {
  name: string;
  environments: Array<{
    name: string;
    cluster: string;
    service: string;
    approvals: number;
    promoteFrom?: string;
    lastDeployment?: {
      id: string;
      kind: string;
      state: string;
      requestedBy: string;
      updatedAt: string;
      toDigest: string | null;
    };
  }>;
}

export interface AppsBody {
  apps: AppSummary[];
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  decision: 'allowed' | 'denied';
  target: Record<string, string>;
  outcome: { result: string; status?: number; code?: string };
}

/** A snapshot, copy or export (sizeGiB), or a volume archive or dump (bytes). */
export interface BackupRecord {
  id: string;
  kind: string;
  database?: string;
  volume?: string;
  status: string;
  reason?: string;
  sizeGiB?: number;
  bytes?: number;
  createdAt: string;
}

interface RestoreCommon {
  id: string;
  status: string;
  reason?: string;
  createdAt: string;
  updatedAt: string;
  durationSeconds?: number;
}

/** An RDS restore into a new instance or cluster. */
export interface RdsRestoreRecord extends RestoreCommon {
  kind?: 'rds';
  database: string;
  from: { backupId: string } | { pointInTime: string };
  targetIdentifier: string;
}

/** A volume archive or a dump restored by the worker. */
export interface ArchiveRestoreRecord extends RestoreCommon {
  kind: 'volume' | 'postgres-dump';
  volume?: string;
  database?: string;
  target: { path: string } | { database: string } | { scratch: true };
}

export type RestoreRecord = RdsRestoreRecord | ArchiveRestoreRecord;
