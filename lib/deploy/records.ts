import type { EnvironmentHealth } from '../health/records';
/**
 * A deployment as Slipway records it, and the rules for how its state may change.
 * Plain data and pure functions: the store persists these, the use cases decide with them.
 */

export const DEPLOYMENT_KINDS = ['deploy', 'promote', 'rollback', 'restart', 'scale'] as const;
export type DeploymentKind = (typeof DEPLOYMENT_KINDS)[number];

export const DEPLOYMENT_STATES = [
  'PENDING_APPROVAL',
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'ROLLED_BACK',
  'TIMED_OUT',
  'CANCELLED',
  'EXPIRED',
] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

export const IN_FLIGHT_STATES = ['PENDING_APPROVAL', 'IN_PROGRESS'] as const satisfies readonly DeploymentState[];
export type InFlightState = (typeof IN_FLIGHT_STATES)[number];

export function isInFlight(state: DeploymentState): state is InFlightState {
  return (IN_FLIGHT_STATES as readonly DeploymentState[]).includes(state);
}

/** `dep-<UUID>`, as the use case names deployments. */
export const DEPLOYMENT_ID = /^dep-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Who asked: a token's name, an OIDC subject, or Slipway itself (reconciler, alarm, push). */
export interface Requester {
  name: string;
  kind: 'token' | 'oidc' | 'system';
  /** An OIDC caller's person (Principal.person): the same across its branches and environments. */
  person?: string;
}

/** What ran or will run: per container, the image; the task definition; the desired count. */
export interface ServiceRevision {
  taskDefinitionArn?: string;
  /** Digest of the target containers' image, when the image is pinned by digest. */
  digest?: string;
  images: Record<string, string>;
  desiredCount?: number;
  /** The ECS deployment that was PRIMARY when this was recorded. */
  ecsDeploymentId?: string;
}

export interface TimelineEntry {
  state: DeploymentState | 'REQUESTED' | 'APPROVED';
  at: string;
  by?: string;
  note?: string;
}

export interface StoppedTask {
  taskArn: string;
  stoppedAt?: string;
  stoppedReason?: string;
  stopCode?: string;
  containers: Array<{ name: string; exitCode?: number; reason?: string }>;
}

export interface FailureDiagnosis {
  /** One line: why it ended this way. */
  reason: string;
  serviceEvents: Array<{ at: string; message: string }>;
  stoppedTasks: StoppedTask[];
}

export interface Approval {
  by: string;
  at: string;
  /** The approver's person, when it was an OIDC caller: approvals are counted by it. */
  person?: string;
}

/** Whom approvals count: an OIDC caller's person, else the name (a stored token's name is its person). */
const personOf = (who: { person?: string | undefined; name?: string; by?: string }) => who.person ?? who.name ?? who.by;

/** One person, whatever names the two went by (an OIDC person asks from many branches, each a name). */
export function samePerson(a: Requester | Approval, b: Requester | Approval): boolean {
  return personOf(a) === personOf(b);
}

/** How messages name an approver: its name, and its person when that says more. */
export function approverLabel(approver: Requester): string {
  return approver.person ? `${approver.name} (${approver.person})` : approver.name;
}

export interface DeploymentRecord {
  id: string;
  app: string;
  environment: string;
  kind: DeploymentKind;
  state: DeploymentState;
  requestedBy: Requester;
  reason?: string;
  createdAt: string;
  updatedAt: string;
  cluster: string;
  service: string;
  /** What ran when the deployment was requested. */
  from: ServiceRevision;
  /** What the deployment puts in place. */
  to: ServiceRevision & { tag?: string; forceNewDeployment?: boolean };
  /** True when Slipway registered `to.taskDefinitionArn` for this deployment (and may deregister it later). */
  registeredTaskDefinition: boolean;
  taskDefinitionDeregisteredAt?: string;
  /** The PRIMARY deployment UpdateService returned: the outcome is judged by this id alone. */
  ecsDeploymentId?: string;
  serviceDeploymentArn?: string;
  approvals: { required: number; deadline?: string; by: Approval[] };
  /** `updatedAt` of the last ECS event applied; older events change nothing. */
  lastEventAt?: string;
  failure?: FailureDiagnosis;
  /**
   * Why Slipway last could not ask ECS about the deployment in flight (the account's role could not be
   * assumed), and since when; it stays in flight, asked again until the deployment timeout.
   */
  ecsUnreachable?: { reason: string; at: string };
  timeline: TimelineEntry[];
}

/** A transition the store applies only if the record is still in one of `from`. */
export interface Transition {
  from: readonly DeploymentState[];
  /** States from which an ECS event as old as the last one applied still moves the record. */
  sameInstantFrom?: readonly DeploymentState[];
  to: DeploymentState;
  at: string;
  note?: string;
  by?: string;
}

const ALLOWED_FROM: Record<DeploymentState, readonly DeploymentState[]> = {
  PENDING_APPROVAL: [],
  IN_PROGRESS: ['PENDING_APPROVAL'],
  CANCELLED: ['PENDING_APPROVAL'],
  EXPIRED: ['PENDING_APPROVAL'],
  // An approved deployment that ECS refuses to start fails from PENDING_APPROVAL.
  FAILED: ['IN_PROGRESS', 'PENDING_APPROVAL'],
  SUCCEEDED: ['IN_PROGRESS'],
  TIMED_OUT: ['IN_PROGRESS'],
  // ECS reports the failure and the rollback it starts as two events, in either order:
  // a failure later known to have been rolled back becomes ROLLED_BACK, never the reverse.
  ROLLED_BACK: ['IN_PROGRESS', 'FAILED'],
};

// ECS stamps events to the second, and the circuit breaker's FAILED and the IN_PROGRESS of the rollback it
// starts often share one (ECS developer guide, "Amazon ECS service deployment state change events").
const SAME_INSTANT_FROM: Partial<Record<DeploymentState, readonly DeploymentState[]>> = {
  ROLLED_BACK: ['FAILED'],
};

/** The states a record may be in for `to` to be applied. */
export function allowedFrom(to: DeploymentState): readonly DeploymentState[] {
  return ALLOWED_FROM[to];
}

export function transition(to: DeploymentState, at: string, extra: { note?: string; by?: string } = {}): Transition {
  const sameInstantFrom = SAME_INSTANT_FROM[to];
  return { from: allowedFrom(to), ...(sameInstantFrom ? { sameInstantFrom } : {}), to, at, ...extra };
}

/** Whether the environment's lock is released once a record reaches this state. */
export function releasesLock(state: DeploymentState): boolean {
  return !isInFlight(state);
}

/** What an environment runs: its ECS service beside its last and in-flight deployments, and its health checks. */
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
  /** The health checks as the probes last saw them; absent until they have run. */
  health?: EnvironmentHealth;
}
