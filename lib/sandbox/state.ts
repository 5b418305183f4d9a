import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Json } from './wire';

/**
 * What the sandbox's AWS holds, as plain data persisted as one JSON file: ECS, ECR, RDS, the network RDS
 * sits in, CloudWatch alarms' states, and the events not yet delivered. Times are epoch milliseconds.
 * Every identifier AWS would make up (deployment, task and event ids) comes from `serial`, so a run
 * driven by the same clock makes the same ids.
 */

export const STATE_VERSION = 1;
export const STATE_FILE = 'aws.json';

export type Millis = number;

export interface ServiceEventRecord {
  id: string;
  createdAt: Millis;
  message: string;
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface EcsDeploymentRecord {
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  taskDefinition: string;
  desiredCount: number;
  failedTasks: number;
  createdAt: Millis;
  updatedAt: Millis;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  /** The service deployment this ECS deployment carries out (a rollback carries the one it undoes). */
  serviceDeploymentArn: string;
  serviceRevisionArn: string;
  /** When every task of the deployment runs and nothing older does, ECS calls it steady this long after. */
  steadySince?: Millis;
}

export type ServiceDeploymentStatus =
  | 'PENDING'
  | 'SUCCESSFUL'
  | 'STOPPED'
  | 'STOP_REQUESTED'
  | 'IN_PROGRESS'
  | 'ROLLBACK_REQUESTED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_SUCCESSFUL'
  | 'ROLLBACK_FAILED';

export interface ServiceDeploymentRecord {
  arn: string;
  serviceKey: string;
  createdAt: Millis;
  startedAt: Millis;
  updatedAt: Millis;
  finishedAt?: Millis;
  status: ServiceDeploymentStatus;
  statusReason?: string;
  /** The revisions running when it started, and the one it deploys. */
  sourceRevisions: Array<{ arn: string; taskDefinition: string; ecsDeploymentId: string }>;
  targetRevision: { arn: string; taskDefinition: string; ecsDeploymentId: string };
  deploymentConfiguration: Json;
  rollback?: { reason: string; startedAt: Millis; serviceRevisionArn: string; ecsDeploymentId: string };
  circuitBreaker?: {
    status: 'TRIGGERED' | 'MONITORING' | 'MONITORING_COMPLETE' | 'DISABLED';
    failureCount: number;
    threshold: number;
  };
}

export interface ServiceRecord {
  region: string;
  cluster: string;
  name: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  taskDefinition: string;
  desiredCount: number;
  launchType: 'FARGATE';
  platformVersion: string;
  deploymentConfiguration: Json;
  networkConfiguration?: Json;
  deployments: EcsDeploymentRecord[];
  /** Newest first, as DescribeServices lists them. */
  events: ServiceEventRecord[];
  currentServiceDeployment?: string;
  /** The last deployment that completed: what the circuit breaker rolls back to. */
  lastCompleted?: { deploymentId: string; taskDefinition: string; serviceRevisionArn: string };
  createdAt: Millis;
  createdBy: string;
  tags: Array<{ key: string; value: string }>;
}

export interface ContainerRecord {
  name: string;
  image: string;
  lastStatus: string;
  exitCode?: number;
  reason?: string;
}

export type TaskStatus = 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'DEPROVISIONING' | 'STOPPED';

export interface TaskRecord {
  arn: string;
  region: string;
  cluster: string;
  /** The service that started it and the ECS deployment it belongs to (startedBy), none for RunTask's. */
  service?: string;
  deploymentId?: string;
  group: string;
  startedBy?: string;
  taskDefinitionArn: string;
  cpu?: string;
  memory?: string;
  lastStatus: TaskStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: Millis;
  startedAt?: Millis;
  stoppingAt?: Millis;
  stoppedAt?: Millis;
  stopCode?: string;
  stoppedReason?: string;
  containers: ContainerRecord[];
  /** Whether its image is one that crashes (see behaviour.ts). */
  crashes: boolean;
  /** When it next changes state by itself. */
  nextAt?: Millis;
  availabilityZone: string;
  tags: Array<{ key: string; value: string }>;
  overrides?: Json;
}

export interface TaskDefinitionRecord {
  arn: string;
  region: string;
  family: string;
  revision: number;
  /** The registration as given, minus its tags: what DescribeTaskDefinition answers, with ECS's own fields. */
  definition: Json;
  tags: Array<{ key: string; value: string }>;
  status: 'ACTIVE' | 'INACTIVE' | 'DELETE_IN_PROGRESS';
  registeredAt: Millis;
  registeredBy: string;
  deregisteredAt?: Millis;
}

export interface ClusterRecord {
  region: string;
  name: string;
  createdAt: Millis;
}

export interface ImageRecord {
  digest: string;
  tags: string[];
  manifest: string;
  manifestMediaType: string;
  artifactMediaType?: string;
  sizeInBytes: number;
  pushedAt: Millis;
  /** The labels of the image's config, where the sandbox reads behaviours from. */
  labels: Record<string, string>;
  scan?: {
    status: 'IN_PROGRESS' | 'COMPLETE';
    startedAt: Millis;
    completedAt?: Millis;
    counts: Record<string, number>;
  };
}

export interface RepositoryRecord {
  region: string;
  registryId: string;
  name: string;
  createdAt: Millis;
  scanOnPush: boolean;
  tagMutability: 'MUTABLE' | 'IMMUTABLE';
  images: ImageRecord[];
}

export interface SubnetRecord {
  id: string;
  vpcId: string;
  availabilityZone: string;
}

export interface NetworkState {
  vpcs: string[];
  subnets: SubnetRecord[];
  securityGroups: Array<{ id: string; vpcId: string; name: string }>;
}

export interface SubnetGroupRecord {
  region: string;
  name: string;
  description: string;
  vpcId: string;
  subnetIds: string[];
}

export type DbStatus = 'creating' | 'available' | 'backing-up' | 'deleting' | 'modifying' | 'failed';

/** What an instance and a cluster both are. */
interface DbResourceRecord {
  region: string;
  identifier: string;
  status: DbStatus;
  /** Everything Describe answers that is the resource's own settings (RDS's member names). */
  settings: Json;
  subnetGroup: string;
  vpcSecurityGroupIds: string[];
  tags: Array<{ Key: string; Value: string }>;
  createdAt: Millis;
  nextAt?: Millis;
  /** What made it: a restore from a snapshot or to a point in time names its source (for the event). */
  origin?: { kind: 'snapshot'; snapshot: string } | { kind: 'point-in-time'; source: string } | { kind: 'create' };
}

export interface DbInstanceRecord extends DbResourceRecord {
  clusterIdentifier?: string;
  isClusterWriter?: boolean;
  /** A point-in-time restore's time. */
  restoreTime?: Millis;
}

export type DbClusterRecord = DbResourceRecord;

export type SnapshotStatus = 'creating' | 'pending' | 'copying' | 'available' | 'deleting' | 'failed';

export interface SnapshotRecord {
  region: string;
  identifier: string;
  kind: 'instance' | 'cluster';
  /** The instance or cluster it was taken of. */
  source: string;
  status: SnapshotStatus;
  type: 'manual' | 'automated';
  createdAt: Millis;
  /** When the source's data was captured (SnapshotCreateTime). */
  capturedAt: Millis;
  percentProgress: number;
  settings: Json;
  tags: Array<{ Key: string; Value: string }>;
  copiedFrom?: { arn: string; region: string };
  nextAt?: Millis;
}

export interface ExportTaskRecord {
  region: string;
  identifier: string;
  sourceArn: string;
  status: 'STARTING' | 'IN_PROGRESS' | 'COMPLETE' | 'FAILED' | 'CANCELED' | 'CANCELING';
  settings: Json;
  startedAt: Millis;
  endedAt?: Millis;
  percentProgress: number;
  nextAt?: Millis;
}

export interface AlarmRecord {
  name: string;
  value: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  reasonData?: string;
  changedAt: Millis;
}

/** An event built and not yet delivered to every function whose rule matches it. */
export interface PendingDelivery {
  functionName: string;
  event: Json;
  attempts: number;
  nextAttemptAt: Millis;
}

export interface SandboxState {
  version: typeof STATE_VERSION;
  account: string;
  region: string;
  serial: number;
  ecs: {
    clusters: ClusterRecord[];
    services: ServiceRecord[];
    taskDefinitions: TaskDefinitionRecord[];
    tasks: TaskRecord[];
    serviceDeployments: ServiceDeploymentRecord[];
  };
  ecr: { repositories: RepositoryRecord[] };
  network: NetworkState;
  rds: {
    subnetGroups: SubnetGroupRecord[];
    instances: DbInstanceRecord[];
    clusters: DbClusterRecord[];
    snapshots: SnapshotRecord[];
    exportTasks: ExportTaskRecord[];
  };
  alarms: AlarmRecord[];
  outbox: PendingDelivery[];
}

export function emptyState(account: string, region: string): SandboxState {
  return {
    version: STATE_VERSION,
    account,
    region,
    serial: 0,
    ecs: { clusters: [], services: [], taskDefinitions: [], tasks: [], serviceDeployments: [] },
    ecr: { repositories: [] },
    network: { vpcs: [], subnets: [], securityGroups: [] },
    rds: { subnetGroups: [], instances: [], clusters: [], snapshots: [], exportTasks: [] },
    alarms: [],
    outbox: [],
  };
}

/** The next of the state's made-up values: a hex string of `length`, different each call. */
export function nextHex(state: SandboxState, length: number): string {
  state.serial += 1;
  let out = '';
  for (let round = 0; out.length < length; round += 1) {
    out += createHash('sha256').update(`${state.account}/${state.serial}/${round}`).digest('hex');
  }
  return out.slice(0, length);
}

/** A decimal string of `length` digits, not starting with 0 (ECS deployment and revision ids). */
export function nextDigits(state: SandboxState, length: number): string {
  const hex = nextHex(state, length * 2);
  const digits = [...hex].map((char) => (Number.parseInt(char, 16) % 10).toString()).join('');
  return `${(Number.parseInt(hex.slice(0, 1), 16) % 9) + 1}${digits.slice(1, length)}`;
}

/** A random-looking UUID (an EventBridge event id, a service event id). */
export function nextUuid(state: SandboxState): string {
  const hex = nextHex(state, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

/** The state saved under `stateDir`, or undefined when there is none yet. */
export function loadState(stateDir: string): SandboxState | undefined {
  const path = statePath(stateDir);
  if (!existsSync(path)) return undefined;
  const state = JSON.parse(readFileSync(path, 'utf8')) as SandboxState;
  if (state.version !== STATE_VERSION) {
    throw new Error(
      `${path} was written by another version of the sandbox (${state.version}); delete it to start afresh`,
    );
  }
  return state;
}

/** Written to a temporary file first, so a stop half-way never leaves a truncated state. */
export function saveState(stateDir: string, state: SandboxState): void {
  const path = statePath(stateDir);
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 1)}\n`);
  renameSync(temporary, path);
}
