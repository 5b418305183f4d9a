import * as sdk from '@aws-sdk/client-ecs';
import { behaviourOf, CRASH } from './behaviour';
import { imageOfReference } from './ecr';
import { ecsDeploymentStateChange } from './events';
import { breakerOf, ecsWords, liveTasks, nextDeploymentStep } from './rollout';
import { arnOf, envelopeOf, type Sim } from './sim';
import {
  type EcsDeploymentRecord,
  type Millis,
  nextDigits,
  nextHex,
  nextUuid,
  type ServiceDeploymentRecord,
  type ServiceRecord,
  type TaskDefinitionRecord,
  type TaskRecord,
} from './state';
import { AwsFault, type Json, type Served } from './wire';

/**
 * Amazon ECS as Slipway uses it: Fargate services deployed by rolling update, their task definitions,
 * tasks and service deployments, and the worker task RunTask starts. Answers follow the ECS API
 * Reference of each operation; the rollout follows the ECS Developer Guide's rolling update and
 * deployment circuit breaker, on the sandbox's clock.
 */

const fault = {
  cluster: () => new AwsFault('ClusterNotFoundException', 'Cluster not found.'),
  service: () => new AwsFault('ServiceNotFoundException', 'Service not found.'),
  notActive: () => new AwsFault('ServiceNotActiveException', 'Service was not ACTIVE.'),
  client: (message: string) => new AwsFault('ClientException', message),
  invalid: (message: string) => new AwsFault('InvalidParameterException', message),
};

const lastPart = (reference: string) => reference.slice(reference.lastIndexOf('/') + 1);
const MAX_SERVICE_EVENTS = 100;
const MAX_STOPPED_TASKS_PER_SERVICE = 100;
const DEFAULT_DEPLOYMENT_CONFIGURATION = {
  deploymentCircuitBreaker: { enable: false, rollback: false },
  maximumPercent: 200,
  minimumHealthyPercent: 100,
};
const ZONES = ['a', 'b'];

// ---------------------------------------------------------------------------------------------
// Finding things by name or ARN

export function clusterNameOf(reference: unknown): string {
  return lastPart(typeof reference === 'string' && reference !== '' ? reference : 'default');
}

function cluster(sim: Sim, reference: unknown) {
  const name = clusterNameOf(reference);
  const found = sim.state.ecs.clusters.find((each) => each.region === sim.region && each.name === name);
  if (!found) throw fault.cluster();
  return found;
}

export function findService(sim: Pick<Sim, 'state' | 'region'>, clusterRef: unknown, serviceRef: unknown) {
  const clusterName = clusterNameOf(clusterRef);
  const name = lastPart(String(serviceRef ?? ''));
  return sim.state.ecs.services.find(
    (service) =>
      service.region === sim.region &&
      service.cluster === clusterName &&
      service.name === name &&
      service.status !== 'INACTIVE',
  );
}

/** A task definition by ARN, `family:revision`, or family (its latest ACTIVE revision). */
export function findTaskDefinition(sim: Pick<Sim, 'state' | 'region'>, reference: unknown) {
  const wanted = String(reference ?? '');
  const name = wanted.startsWith('arn:') ? lastPart(wanted) : wanted;
  const [family, revision] = name.split(':');
  const inRegion = sim.state.ecs.taskDefinitions.filter((each) => each.region === sim.region && each.family === family);
  if (revision !== undefined) return inRegion.find((each) => String(each.revision) === revision);
  return inRegion.filter((each) => each.status === 'ACTIVE').sort((a, b) => b.revision - a.revision)[0];
}

const serviceArn = (sim: Pick<Sim, 'state'>, service: ServiceRecord) =>
  arnOf({ state: sim.state, region: service.region }, 'ecs', `service/${service.cluster}/${service.name}`);
const clusterArn = (sim: Pick<Sim, 'state'>, region: string, name: string) =>
  arnOf({ state: sim.state, region }, 'ecs', `cluster/${name}`);

// ---------------------------------------------------------------------------------------------
// Rendering, as the API answers

function renderTaskDefinition(definition: TaskDefinitionRecord): Json {
  return {
    ...definition.definition,
    taskDefinitionArn: definition.arn,
    revision: definition.revision,
    status: definition.status,
    registeredAt: new Date(definition.registeredAt),
    registeredBy: definition.registeredBy,
    ...(definition.deregisteredAt !== undefined ? { deregisteredAt: new Date(definition.deregisteredAt) } : {}),
  };
}

function counts(sim: Sim, service: ServiceRecord, deploymentId?: string) {
  const tasks = sim.state.ecs.tasks.filter(
    (task) =>
      task.region === service.region &&
      task.cluster === service.cluster &&
      task.service === service.name &&
      (deploymentId === undefined || task.deploymentId === deploymentId) &&
      task.desiredStatus === 'RUNNING',
  );
  return {
    runningCount: tasks.filter((task) => task.lastStatus === 'RUNNING').length,
    pendingCount: tasks.filter((task) => task.lastStatus === 'PROVISIONING' || task.lastStatus === 'PENDING').length,
  };
}

function renderDeployment(sim: Sim, service: ServiceRecord, deployment: EcsDeploymentRecord): Json {
  return {
    id: deployment.id,
    status: deployment.status,
    taskDefinition: deployment.taskDefinition,
    desiredCount: deployment.desiredCount,
    ...counts(sim, service, deployment.id),
    failedTasks: deployment.failedTasks,
    createdAt: new Date(deployment.createdAt),
    updatedAt: new Date(deployment.updatedAt),
    launchType: service.launchType,
    platformVersion: '1.4.0',
    platformFamily: 'Linux',
    ...(service.networkConfiguration ? { networkConfiguration: service.networkConfiguration } : {}),
    rolloutState: deployment.rolloutState,
    rolloutStateReason: deployment.rolloutStateReason,
  };
}

function renderService(sim: Sim, service: ServiceRecord, withTags: boolean): Json {
  return {
    serviceArn: serviceArn(sim, service),
    serviceName: service.name,
    clusterArn: clusterArn(sim, service.region, service.cluster),
    loadBalancers: [],
    serviceRegistries: [],
    status: service.status,
    desiredCount: service.desiredCount,
    ...counts(sim, service),
    launchType: service.launchType,
    platformVersion: service.platformVersion,
    platformFamily: 'Linux',
    taskDefinition: service.taskDefinition,
    deploymentConfiguration: service.deploymentConfiguration,
    deployments: service.deployments.map((deployment) => renderDeployment(sim, service, deployment)),
    roleArn: `arn:aws:iam::${sim.state.account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
    events: service.events.map((event) => ({
      id: event.id,
      createdAt: new Date(event.createdAt),
      message: event.message,
    })),
    createdAt: new Date(service.createdAt),
    ...(service.currentServiceDeployment ? { currentServiceDeployment: service.currentServiceDeployment } : {}),
    placementConstraints: [],
    placementStrategy: [],
    ...(service.networkConfiguration ? { networkConfiguration: service.networkConfiguration } : {}),
    schedulingStrategy: 'REPLICA',
    deploymentController: { type: 'ECS' },
    ...(withTags ? { tags: service.tags } : {}),
    createdBy: service.createdBy,
    enableECSManagedTags: false,
    propagateTags: 'NONE',
    enableExecuteCommand: false,
    availabilityZoneRebalancing: 'ENABLED',
  };
}

function renderTask(sim: Sim, task: TaskRecord, withTags: boolean): Json {
  const time = (key: string, value: Millis | undefined) => (value === undefined ? {} : { [key]: new Date(value) });
  return {
    attachments: [],
    attributes: [{ name: 'ecs.cpu-architecture', value: 'arm64' }],
    availabilityZone: task.availabilityZone,
    clusterArn: clusterArn(sim, task.region, task.cluster),
    connectivity: task.lastStatus === 'STOPPED' ? 'DISCONNECTED' : 'CONNECTED',
    containers: task.containers.map((container) => ({
      containerArn: arnOf(
        { state: sim.state, region: task.region },
        'ecs',
        `container/${task.cluster}/${lastPart(task.arn)}/${nextUuidless(container.name)}`,
      ),
      taskArn: task.arn,
      name: container.name,
      image: container.image,
      lastStatus: container.lastStatus,
      ...(container.exitCode !== undefined ? { exitCode: container.exitCode } : {}),
      ...(container.reason !== undefined ? { reason: container.reason } : {}),
      networkInterfaces: [],
      healthStatus: 'UNKNOWN',
      cpu: '0',
    })),
    ...(task.cpu ? { cpu: task.cpu } : {}),
    ...time('createdAt', task.createdAt),
    desiredStatus: task.desiredStatus,
    enableExecuteCommand: false,
    group: task.group,
    healthStatus: 'UNKNOWN',
    lastStatus: task.lastStatus,
    launchType: 'FARGATE',
    ...(task.memory ? { memory: task.memory } : {}),
    overrides: task.overrides ?? {
      containerOverrides: task.containers.map((container) => ({ name: container.name })),
      inferenceAcceleratorOverrides: [],
    },
    platformVersion: '1.4.0',
    platformFamily: 'Linux',
    ...time('startedAt', task.startedAt),
    ...(task.startedBy ? { startedBy: task.startedBy } : {}),
    ...(task.stopCode ? { stopCode: task.stopCode } : {}),
    ...time('stoppedAt', task.stoppedAt),
    ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
    ...time('stoppingAt', task.stoppingAt),
    ...(withTags ? { tags: task.tags } : {}),
    taskArn: task.arn,
    taskDefinitionArn: task.taskDefinitionArn,
    version: task.lastStatus === 'STOPPED' ? 4 : task.lastStatus === 'RUNNING' ? 3 : 1,
    ephemeralStorage: { sizeInGiB: 20 },
  };
}

/** A container's id inside a task ARN: stable per container name. */
function nextUuidless(name: string): string {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `${hash.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
}

function revisionSummary(
  sim: Sim,
  service: ServiceRecord,
  revision: { arn: string; ecsDeploymentId: string; taskDefinition: string },
) {
  const deployment = service.deployments.find((each) => each.id === revision.ecsDeploymentId);
  const { runningCount, pendingCount } = counts(sim, service, revision.ecsDeploymentId);
  return {
    arn: revision.arn,
    requestedTaskCount: deployment?.desiredCount ?? 0,
    runningTaskCount: runningCount,
    pendingTaskCount: pendingCount,
  };
}

function renderServiceDeployment(sim: Sim, record: ServiceDeploymentRecord): Json {
  const service = sim.state.ecs.services.find((each) => serviceKey(each) === record.serviceKey) as ServiceRecord;
  const time = (key: string, value: Millis | undefined) => (value === undefined ? {} : { [key]: new Date(value) });
  return {
    serviceDeploymentArn: record.arn,
    serviceArn: serviceArn(sim, service),
    clusterArn: clusterArn(sim, service.region, service.cluster),
    ...time('createdAt', record.createdAt),
    ...time('startedAt', record.startedAt),
    ...time('finishedAt', record.finishedAt),
    ...time('updatedAt', record.updatedAt),
    sourceServiceRevisions: record.sourceRevisions.map((revision) => revisionSummary(sim, service, revision)),
    targetServiceRevision: revisionSummary(sim, service, record.targetRevision),
    status: record.status,
    ...(record.statusReason ? { statusReason: record.statusReason } : {}),
    deploymentConfiguration: record.deploymentConfiguration,
    ...(record.rollback
      ? {
          rollback: {
            reason: record.rollback.reason,
            startedAt: new Date(record.rollback.startedAt),
            serviceRevisionArn: record.rollback.serviceRevisionArn,
          },
        }
      : {}),
    ...(record.circuitBreaker ? { deploymentCircuitBreaker: record.circuitBreaker } : {}),
  };
}

export const serviceKey = (service: Pick<ServiceRecord, 'region' | 'cluster' | 'name'>) =>
  `${service.region}/${service.cluster}/${service.name}`;

// ---------------------------------------------------------------------------------------------
// Task definitions

const FAMILY = /^[A-Za-z0-9_-]{1,255}$/;

/** What ECS reports a revision needs (DescribeTaskDefinition's requiresAttributes), from what it uses. */
function requiredAttributes(definition: Json): Array<{ name: string }> {
  const containers = (definition.containerDefinitions as Json[] | undefined) ?? [];
  const names = new Set<string>();
  const executionRole = typeof definition.executionRoleArn === 'string';
  for (const container of containers) {
    const log = container.logConfiguration as Json | undefined;
    if (log?.logDriver === 'awslogs') {
      names.add('com.amazonaws.ecs.capability.logging-driver.awslogs');
      if (executionRole) names.add('ecs.capability.execution-role-awslogs');
    }
    if (typeof container.image === 'string' && /\.dkr\.ecr\./.test(container.image)) {
      names.add('com.amazonaws.ecs.capability.ecr-auth');
      if (executionRole) names.add('ecs.capability.execution-role-ecr-pull');
    }
    for (const secret of (container.secrets as Json[] | undefined) ?? []) {
      const from = String(secret.valueFrom ?? '');
      names.add(
        from.includes(':ssm:') || !from.startsWith('arn:')
          ? 'ecs.capability.secrets.ssm.environment-variables'
          : 'ecs.capability.secrets.asm.environment-variables',
      );
    }
    if (container.healthCheck) names.add('ecs.capability.container-health-check');
  }
  if (typeof definition.taskRoleArn === 'string') names.add('com.amazonaws.ecs.capability.task-iam-role');
  if (definition.networkMode === 'awsvpc') names.add('ecs.capability.task-eni');
  return [...names].map((name) => ({ name }));
}

/** What ECS fills in that a registration left out (DescribeTaskDefinition of a minimal registration). */
function withDefaults(input: Json): Json {
  const awsvpc = input.networkMode === 'awsvpc';
  const containers = ((input.containerDefinitions as Json[] | undefined) ?? []).map((container) => ({
    cpu: 0,
    essential: true,
    environment: [],
    mountPoints: [],
    volumesFrom: [],
    ...container,
    portMappings: ((container.portMappings as Json[] | undefined) ?? []).map((mapping) => ({
      ...(awsvpc ? { hostPort: mapping.containerPort } : {}),
      protocol: 'tcp',
      ...mapping,
    })),
  }));
  return {
    ...input,
    containerDefinitions: containers,
    volumes: input.volumes ?? [],
    placementConstraints: input.placementConstraints ?? [],
  };
}

export function registerTaskDefinition(sim: Sim, input: Json, registeredBy: string): TaskDefinitionRecord {
  const { tags, ...given } = input;
  const family = given.family;
  if (typeof family !== 'string' || !FAMILY.test(family)) {
    throw fault.client('Family contains invalid characters or is not between 1 and 255 characters.');
  }
  const containers = given.containerDefinitions as Json[] | undefined;
  if (!containers || containers.length === 0) throw fault.client('Container list cannot be empty.');
  for (const container of containers) {
    if (typeof container.name !== 'string' || container.name === '')
      throw fault.client('Container.name should not be null or empty.');
    if (typeof container.image !== 'string' || container.image === '')
      throw fault.client('Container.image should not be null or empty.');
  }
  const fargate = ((given.requiresCompatibilities as string[] | undefined) ?? []).includes('FARGATE');
  if (fargate && given.networkMode !== 'awsvpc') throw fault.client('Fargate only supports network mode ‘awsvpc’.');
  if (fargate && (given.cpu === undefined || given.memory === undefined)) {
    throw fault.client("Fargate requires that 'cpu' be defined at the task level.");
  }
  const definition = withDefaults(given);
  const compatible = given.networkMode === 'awsvpc' && given.cpu !== undefined && given.memory !== undefined;
  const revision =
    Math.max(
      0,
      ...sim.state.ecs.taskDefinitions
        .filter((each) => each.region === sim.region && each.family === family)
        .map((each) => each.revision),
    ) + 1;
  const record: TaskDefinitionRecord = {
    arn: arnOf(sim, 'ecs', `task-definition/${family}:${revision}`),
    region: sim.region,
    family,
    revision,
    definition: {
      ...definition,
      requiresAttributes: requiredAttributes(definition),
      compatibilities: compatible ? ['EC2', 'FARGATE'] : ['EC2'],
    },
    tags: (tags as TaskDefinitionRecord['tags'] | undefined) ?? [],
    status: 'ACTIVE',
    registeredAt: sim.now,
    registeredBy,
  };
  sim.state.ecs.taskDefinitions.push(record);
  return record;
}

// ---------------------------------------------------------------------------------------------
// Services and their deployments

function addServiceEvent(sim: Sim, service: ServiceRecord, message: string): void {
  service.events.unshift({ id: nextUuid(sim.state), createdAt: sim.now, message });
  service.events.length = Math.min(service.events.length, MAX_SERVICE_EVENTS);
}

function emitDeploymentEvent(
  sim: Sim,
  service: ServiceRecord,
  eventName: 'SERVICE_DEPLOYMENT_IN_PROGRESS' | 'SERVICE_DEPLOYMENT_COMPLETED' | 'SERVICE_DEPLOYMENT_FAILED',
  deploymentId: string,
  reason: string,
): void {
  sim.emit(
    ecsDeploymentStateChange(envelopeOf(sim, sim.now, service.region), {
      serviceArn: serviceArn(sim, service),
      eventName,
      deploymentId,
      reason,
    }),
  );
}

const newDeploymentId = (sim: Sim) => `ecs-svc/${nextDigits(sim.state, 19)}`;
const revisionArn = (sim: Sim, service: ServiceRecord) =>
  arnOf(
    { state: sim.state, region: service.region },
    'ecs',
    `service-revision/${service.cluster}/${service.name}/${nextDigits(sim.state, 19)}`,
  );

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function serviceDeploymentId(sim: Sim): string {
  const hex = nextHex(sim.state, 42);
  return Array.from(
    { length: 21 },
    (_, index) => BASE62[Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16) % 62],
  ).join('');
}

/** A new PRIMARY deployment of the service's task definition, as UpdateService and CreateService start one. */
function startDeployment(sim: Sim, service: ServiceRecord): EcsDeploymentRecord {
  const id = newDeploymentId(sim);
  const sources = service.deployments.filter((deployment) => deployment.status !== 'INACTIVE');
  for (const deployment of sources) {
    deployment.status = 'ACTIVE';
    deployment.updatedAt = sim.now;
  }
  // A service deployment still running when a newer one starts is stopped by it.
  for (const record of sim.state.ecs.serviceDeployments) {
    if (record.serviceKey === serviceKey(service) && (record.status === 'IN_PROGRESS' || record.status === 'PENDING')) {
      record.status = 'STOPPED';
      record.statusReason = 'A newer service deployment started.';
      record.updatedAt = sim.now;
      record.finishedAt = sim.now;
    }
  }
  const arn = arnOf(
    { state: sim.state, region: service.region },
    'ecs',
    `service-deployment/${service.cluster}/${service.name}/${serviceDeploymentId(sim)}`,
  );
  const target = { arn: revisionArn(sim, service), taskDefinition: service.taskDefinition, ecsDeploymentId: id };
  const breaker = breakerOf(service.deploymentConfiguration, service.desiredCount);
  sim.state.ecs.serviceDeployments.push({
    arn,
    serviceKey: serviceKey(service),
    createdAt: sim.now,
    startedAt: sim.now,
    updatedAt: sim.now,
    status: 'IN_PROGRESS',
    sourceRevisions: sources.map((deployment) => ({
      arn: deployment.serviceRevisionArn,
      taskDefinition: deployment.taskDefinition,
      ecsDeploymentId: deployment.id,
    })),
    targetRevision: target,
    deploymentConfiguration: service.deploymentConfiguration,
    circuitBreaker: breaker.enable
      ? { status: 'MONITORING', failureCount: 0, threshold: breaker.threshold }
      : { status: 'DISABLED', failureCount: 0, threshold: breaker.threshold },
  });
  const deployment: EcsDeploymentRecord = {
    id,
    status: 'PRIMARY',
    taskDefinition: service.taskDefinition,
    desiredCount: service.desiredCount,
    failedTasks: 0,
    createdAt: sim.now,
    updatedAt: sim.now,
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: ecsWords.inProgress(id),
    serviceDeploymentArn: arn,
    serviceRevisionArn: target.arn,
  };
  service.deployments.unshift(deployment);
  service.currentServiceDeployment = arn;
  emitDeploymentEvent(sim, service, 'SERVICE_DEPLOYMENT_IN_PROGRESS', id, deployment.rolloutStateReason);
  return deployment;
}

function imageCrashes(sim: Sim, image: string): boolean {
  return behaviourOf(imageOfReference(sim.state, image)?.labels) === 'crashloop';
}

function launchTasks(sim: Sim, service: ServiceRecord, deployment: EcsDeploymentRecord, count: number): void {
  const definition = findTaskDefinition({ state: sim.state, region: service.region }, deployment.taskDefinition);
  const containers = ((definition?.definition.containerDefinitions as Json[] | undefined) ?? []).map((container) => ({
    name: String(container.name),
    image: String(container.image),
  }));
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = nextHex(sim.state, 32);
    ids.push(id);
    const zone = ZONES[(sim.state.serial + index) % ZONES.length];
    sim.state.ecs.tasks.push({
      arn: arnOf({ state: sim.state, region: service.region }, 'ecs', `task/${service.cluster}/${id}`),
      region: service.region,
      cluster: service.cluster,
      service: service.name,
      deploymentId: deployment.id,
      group: `service:${service.name}`,
      startedBy: deployment.id,
      taskDefinitionArn: deployment.taskDefinition,
      ...(typeof definition?.definition.cpu === 'string' ? { cpu: definition.definition.cpu } : {}),
      ...(typeof definition?.definition.memory === 'string' ? { memory: definition.definition.memory } : {}),
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: sim.now,
      containers: containers.map((container) => ({ ...container, lastStatus: 'PENDING' })),
      crashes: containers.some((container) => imageCrashes(sim, container.image)),
      nextAt: sim.now + sim.timings.taskStartMs,
      availabilityZone: `${service.region}${zone}`,
      tags: [],
    });
  }
  if (ids.length > 0) addServiceEvent(sim, service, ecsWords.started(service.name, ids));
}

function stopTasks(sim: Sim, service: ServiceRecord, tasks: TaskRecord[], reason: string, code: string): void {
  for (const task of tasks) {
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = sim.now;
    task.stopCode = code;
    task.stoppedReason = reason;
    task.nextAt = sim.now + sim.timings.taskStopMs;
    if (task.lastStatus === 'RUNNING') task.lastStatus = 'DEPROVISIONING';
  }
  const ids = tasks.map((task) => lastPart(task.arn));
  if (ids.length > 0) addServiceEvent(sim, service, ecsWords.stopped(service.name, ids));
}

const tasksOfService = (sim: Sim, service: ServiceRecord) =>
  sim.state.ecs.tasks.filter(
    (task) => task.region === service.region && task.cluster === service.cluster && task.service === service.name,
  );

function serviceDeploymentOf(sim: Sim, deployment: EcsDeploymentRecord) {
  return sim.state.ecs.serviceDeployments.find((record) => record.arn === deployment.serviceDeploymentArn);
}

function fail(sim: Sim, service: ServiceRecord, deployment: EcsDeploymentRecord, rollback: boolean): void {
  deployment.rolloutState = 'FAILED';
  deployment.rolloutStateReason = ecsWords.breakerFailedState;
  deployment.updatedAt = sim.now;
  addServiceEvent(sim, service, ecsWords.deploymentFailed(service.name, deployment.id));
  emitDeploymentEvent(sim, service, 'SERVICE_DEPLOYMENT_FAILED', deployment.id, ecsWords.breakerFailedEvent);
  const record = serviceDeploymentOf(sim, deployment);
  const target = service.lastCompleted;
  if (record?.circuitBreaker) record.circuitBreaker = { ...record.circuitBreaker, status: 'TRIGGERED' };
  if (!rollback || !target || target.deploymentId === deployment.id) {
    // No rollback: the failed deployment stays PRIMARY and launches nothing more.
    if (record)
      Object.assign(record, {
        status: 'STOPPED',
        statusReason: ecsWords.breakerFailedState,
        updatedAt: sim.now,
        finishedAt: sim.now,
      });
    return;
  }
  // The rollback is a new ECS deployment of the last completed revision, in the same second.
  stopTasks(
    sim,
    service,
    liveTasks(tasksOfService(sim, service), deployment.id),
    ecsWords.scaledBy(deployment.id),
    'ServiceSchedulerInitiated',
  );
  deployment.desiredCount = 0;
  deployment.status = 'ACTIVE';
  const reason = ecsWords.rollingBack(target.deploymentId);
  const id = newDeploymentId(sim);
  const rollbackDeployment: EcsDeploymentRecord = {
    id,
    status: 'PRIMARY',
    taskDefinition: target.taskDefinition,
    desiredCount: service.desiredCount,
    failedTasks: 0,
    createdAt: sim.now,
    updatedAt: sim.now,
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: reason,
    serviceDeploymentArn: deployment.serviceDeploymentArn,
    serviceRevisionArn: target.serviceRevisionArn,
  };
  for (const other of service.deployments) if (other.status === 'PRIMARY') other.status = 'ACTIVE';
  service.deployments.unshift(rollbackDeployment);
  service.taskDefinition = target.taskDefinition;
  addServiceEvent(sim, service, ecsWords.rollingBackTo(service.name, target.deploymentId));
  emitDeploymentEvent(sim, service, 'SERVICE_DEPLOYMENT_IN_PROGRESS', id, reason);
  if (record) {
    record.status = 'ROLLBACK_IN_PROGRESS';
    record.updatedAt = sim.now;
    record.rollback = {
      reason,
      startedAt: sim.now,
      serviceRevisionArn: target.serviceRevisionArn,
      ecsDeploymentId: id,
    };
  }
}

function complete(sim: Sim, service: ServiceRecord, deployment: EcsDeploymentRecord): void {
  deployment.rolloutState = 'COMPLETED';
  deployment.rolloutStateReason = ecsWords.completed(deployment.id);
  deployment.updatedAt = sim.now;
  deployment.steadySince = undefined;
  // Drained deployments leave the list once the PRIMARY is steady.
  service.deployments = service.deployments.filter((each) => each.status === 'PRIMARY');
  service.lastCompleted = {
    deploymentId: deployment.id,
    taskDefinition: deployment.taskDefinition,
    serviceRevisionArn: deployment.serviceRevisionArn,
  };
  addServiceEvent(sim, service, ecsWords.deploymentCompleted(service.name, deployment.id));
  addServiceEvent(sim, service, ecsWords.steady(service.name));
  emitDeploymentEvent(sim, service, 'SERVICE_DEPLOYMENT_COMPLETED', deployment.id, deployment.rolloutStateReason);
  const record = serviceDeploymentOf(sim, deployment);
  if (record && (record.status === 'IN_PROGRESS' || record.status === 'ROLLBACK_IN_PROGRESS')) {
    record.status = record.status === 'IN_PROGRESS' ? 'SUCCESSFUL' : 'ROLLBACK_SUCCESSFUL';
    record.updatedAt = sim.now;
    record.finishedAt = sim.now;
    if (record.circuitBreaker?.status === 'MONITORING')
      record.circuitBreaker = { ...record.circuitBreaker, status: 'MONITORING_COMPLETE' };
  }
}

/** One task's own change, when it is due: started, crashed, or stopped. */
function advanceTask(sim: Sim, task: TaskRecord): void {
  if (task.nextAt === undefined || task.nextAt > sim.now) return;
  task.nextAt = undefined;
  if (task.desiredStatus === 'STOPPED') {
    task.lastStatus = 'STOPPED';
    task.stoppedAt = sim.now;
    for (const container of task.containers) {
      if (container.lastStatus !== 'STOPPED') Object.assign(container, { lastStatus: 'STOPPED', exitCode: 0 });
    }
    return;
  }
  if (task.lastStatus === 'PROVISIONING' || task.lastStatus === 'PENDING') {
    task.lastStatus = 'RUNNING';
    task.startedAt = sim.now;
    for (const container of task.containers) container.lastStatus = 'RUNNING';
    if (task.crashes) task.nextAt = sim.now + sim.timings.crashAfterMs;
    return;
  }
  if (task.lastStatus === 'RUNNING' && task.crashes) {
    Object.assign(task, {
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stoppingAt: sim.now,
      stoppedAt: sim.now,
      stopCode: CRASH.stopCode,
      stoppedReason: CRASH.stoppedReason,
    });
    for (const container of task.containers)
      Object.assign(container, { lastStatus: 'STOPPED', exitCode: CRASH.exitCode });
    if (!task.service) return;
    const service = sim.state.ecs.services.find(
      (each) => each.region === task.region && each.cluster === task.cluster && each.name === task.service,
    );
    const deployment = service?.deployments.find((each) => each.id === task.deploymentId);
    if (deployment) {
      deployment.failedTasks += 1;
      deployment.updatedAt = sim.now;
      const record = serviceDeploymentOf(sim, deployment);
      if (record?.circuitBreaker && record.targetRevision.ecsDeploymentId === deployment.id) {
        record.circuitBreaker = { ...record.circuitBreaker, failureCount: deployment.failedTasks };
      }
    }
  }
}

/** The service's rollout, one step at a time until nothing more happens now. */
function advanceService(sim: Sim, service: ServiceRecord): void {
  if (service.status !== 'ACTIVE') return;
  for (let guard = 0; guard < 20; guard += 1) {
    const primary = service.deployments.find((deployment) => deployment.status === 'PRIMARY');
    if (!primary) return;
    const tasks = tasksOfService(sim, service);
    const olderTasks = tasks.filter(
      (task) => task.deploymentId !== primary.id && task.desiredStatus === 'RUNNING' && task.lastStatus !== 'STOPPED',
    );
    const step = nextDeploymentStep({
      deployment: primary,
      tasks,
      olderTasksRunning: olderTasks.length,
      breaker: breakerOf(service.deploymentConfiguration, primary.desiredCount),
      steadySince: primary.steadySince,
      steadyMs: sim.timings.steadyStateMs,
      now: sim.now,
    });
    // Steadiness is counted from the last change: anything but waiting for it starts the count again.
    if (
      step.kind !== 'complete' &&
      step.kind !== 'settle' &&
      !(step.kind === 'wait' && (primary.steadySince ?? 0) > sim.now)
    ) {
      primary.steadySince = undefined;
    }
    switch (step.kind) {
      case 'fail':
        fail(sim, service, primary, step.rollback);
        continue;
      case 'launch':
        launchTasks(sim, service, primary, step.count);
        return;
      case 'scale-in':
        stopTasks(
          sim,
          service,
          liveTasks(tasks, primary.id).slice(0, step.count),
          ecsWords.scaledBy(primary.id),
          'ServiceSchedulerInitiated',
        );
        return;
      case 'drain':
        for (const deployment of service.deployments) if (deployment !== primary) deployment.desiredCount = 0;
        stopTasks(sim, service, olderTasks, ecsWords.scaledBy(primary.id), 'ServiceSchedulerInitiated');
        return;
      case 'settle':
        primary.steadySince = step.at;
        return;
      case 'complete':
        complete(sim, service, primary);
        return;
      default:
        return;
    }
  }
}

/** Stopped tasks are listed for a while, then forgotten, as ECS does. */
function forgetOldTasks(sim: Sim): void {
  const keep = new Set<string>();
  const byService = new Map<string, TaskRecord[]>();
  for (const task of sim.state.ecs.tasks) {
    if (task.lastStatus !== 'STOPPED') {
      keep.add(task.arn);
      continue;
    }
    if (sim.now - (task.stoppedAt ?? sim.now) > sim.timings.stoppedTaskRetentionMs) continue;
    const key = `${task.region}/${task.cluster}/${task.service ?? ''}`;
    byService.set(key, [...(byService.get(key) ?? []), task]);
  }
  for (const tasks of byService.values()) {
    for (const task of tasks
      .sort((a, b) => (b.stoppedAt ?? 0) - (a.stoppedAt ?? 0))
      .slice(0, MAX_STOPPED_TASKS_PER_SERVICE)) {
      keep.add(task.arn);
    }
  }
  sim.state.ecs.tasks = sim.state.ecs.tasks.filter((task) => keep.has(task.arn));
}

/** Everything ECS does by itself at `sim.now`. */
export function advanceEcs(sim: Sim): void {
  for (const task of sim.state.ecs.tasks) advanceTask(sim, task);
  for (const service of sim.state.ecs.services) advanceService(sim, service);
  forgetOldTasks(sim);
}

/** When ECS next does something by itself. */
export function nextEcsChange(sim: Sim): Millis | undefined {
  const times = [
    ...sim.state.ecs.tasks.map((task) => task.nextAt),
    ...sim.state.ecs.services.flatMap((service) =>
      service.deployments
        .filter((deployment) => deployment.status === 'PRIMARY')
        .map((deployment) => deployment.steadySince),
    ),
  ].filter((time): time is Millis => time !== undefined);
  return times.length > 0 ? Math.min(...times) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The operations

const REGISTERED_BY = (sim: Sim) => `arn:aws:iam::${sim.state.account}:root`;

function describeServices(sim: Sim, input: Json): Json {
  const names = (input.services as string[] | undefined) ?? [];
  if (names.length === 0) throw fault.invalid('Services cannot be empty.');
  if (names.length > 10) throw fault.invalid('A maximum of 10 services can be described at a time.');
  const clusterName = clusterNameOf(input.cluster);
  if (!sim.state.ecs.clusters.some((each) => each.region === sim.region && each.name === clusterName)) {
    throw fault.cluster();
  }
  const withTags = ((input.include as string[] | undefined) ?? []).includes('TAGS');
  const services: Json[] = [];
  const failures: Json[] = [];
  for (const name of names) {
    const service = sim.state.ecs.services.find(
      (each) => each.region === sim.region && each.cluster === clusterName && each.name === lastPart(name),
    );
    if (service) services.push(renderService(sim, service, withTags));
    else
      failures.push({
        arn: name.startsWith('arn:') ? name : arnOf(sim, 'ecs', `service/${name}`),
        reason: 'MISSING',
      });
  }
  return { services, failures };
}

function taskDefinitionFor(sim: Sim, reference: unknown): TaskDefinitionRecord {
  const found = findTaskDefinition(sim, reference);
  if (!found) throw fault.client('TaskDefinition not found.');
  if (found.status !== 'ACTIVE') throw fault.client(`TaskDefinition is inactive`);
  return found;
}

function createService(sim: Sim, input: Json): Json {
  const home = cluster(sim, input.cluster);
  const name = input.serviceName;
  if (typeof name !== 'string' || name === '') throw fault.invalid('serviceName should not be null or empty.');
  if (findService(sim, home.name, name)) throw fault.invalid('Creation of service was not idempotent.');
  const definition = taskDefinitionFor(sim, input.taskDefinition);
  if (input.launchType !== undefined && input.launchType !== 'FARGATE') {
    throw fault.invalid('The sandbox runs Fargate services only: launchType must be FARGATE.');
  }
  const service: ServiceRecord = {
    region: sim.region,
    cluster: home.name,
    name,
    status: 'ACTIVE',
    taskDefinition: definition.arn,
    desiredCount: typeof input.desiredCount === 'number' ? input.desiredCount : 0,
    launchType: 'FARGATE',
    platformVersion: typeof input.platformVersion === 'string' ? input.platformVersion : 'LATEST',
    deploymentConfiguration: {
      ...DEFAULT_DEPLOYMENT_CONFIGURATION,
      ...((input.deploymentConfiguration as Json | undefined) ?? {}),
    },
    ...(input.networkConfiguration ? { networkConfiguration: input.networkConfiguration as Json } : {}),
    deployments: [],
    events: [],
    createdAt: sim.now,
    createdBy: REGISTERED_BY(sim),
    tags: (input.tags as ServiceRecord['tags'] | undefined) ?? [],
  };
  sim.state.ecs.services.push(service);
  startDeployment(sim, service);
  advanceService(sim, service);
  return { service: renderService(sim, service, false) };
}

function updateService(sim: Sim, input: Json): Json {
  cluster(sim, input.cluster);
  const service = findService(sim, input.cluster, input.service);
  if (!service) throw fault.service();
  if (service.status !== 'ACTIVE') throw fault.notActive();
  let changesRevision = input.forceNewDeployment === true;
  if (input.taskDefinition !== undefined) {
    const definition = taskDefinitionFor(sim, input.taskDefinition);
    if (definition.arn !== service.taskDefinition) changesRevision = true;
    service.taskDefinition = definition.arn;
  }
  if (input.deploymentConfiguration) {
    // The members given replace the service's (ECS API Reference, UpdateService: deploymentConfiguration).
    service.deploymentConfiguration = {
      ...service.deploymentConfiguration,
      ...(input.deploymentConfiguration as Json),
    };
  }
  if (input.networkConfiguration) {
    changesRevision = true;
    service.networkConfiguration = input.networkConfiguration as Json;
  }
  if (typeof input.desiredCount === 'number') {
    if (input.desiredCount < 0) throw fault.invalid('desiredCount must be 0 or more.');
    service.desiredCount = input.desiredCount;
    const primary = service.deployments.find((deployment) => deployment.status === 'PRIMARY');
    if (primary && primary.rolloutState !== 'FAILED') primary.desiredCount = input.desiredCount;
  }
  if (changesRevision) startDeployment(sim, service);
  advanceService(sim, service);
  return { service: renderService(sim, service, false) };
}

function listTasks(sim: Sim, input: Json): Json {
  const home = cluster(sim, input.cluster);
  const desired = (input.desiredStatus as string | undefined) ?? 'RUNNING';
  const family = input.family as string | undefined;
  const matching = sim.state.ecs.tasks.filter(
    (task) =>
      task.region === sim.region &&
      task.cluster === home.name &&
      (input.serviceName === undefined || task.service === lastPart(String(input.serviceName))) &&
      (input.startedBy === undefined || task.startedBy === input.startedBy) &&
      (family === undefined || lastPart(task.taskDefinitionArn).split(':')[0] === family) &&
      (desired === 'STOPPED'
        ? task.lastStatus === 'STOPPED'
        : task.desiredStatus === desired && task.lastStatus !== 'STOPPED'),
  );
  const pageSize = Math.min(100, Math.max(1, Number(input.maxResults ?? 100)));
  const start = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw fault.invalid('Invalid token');
  const page = matching.slice(start, start + pageSize);
  const next =
    start + pageSize < matching.length ? Buffer.from(String(start + pageSize)).toString('base64url') : undefined;
  return { taskArns: page.map((task) => task.arn), ...(next ? { nextToken: next } : {}) };
}

function describeTasks(sim: Sim, input: Json): Json {
  const home = cluster(sim, input.cluster);
  const wanted = (input.tasks as string[] | undefined) ?? [];
  if (wanted.length === 0) throw fault.invalid('Tasks cannot be empty.');
  if (wanted.length > 100) throw fault.invalid('Tasks cannot be more than 100.');
  const withTags = ((input.include as string[] | undefined) ?? []).includes('TAGS');
  const tasks: Json[] = [];
  const failures: Json[] = [];
  for (const reference of wanted) {
    const found = sim.state.ecs.tasks.find(
      (task) =>
        task.region === sim.region &&
        task.cluster === home.name &&
        (task.arn === reference || lastPart(task.arn) === reference),
    );
    if (found) tasks.push(renderTask(sim, found, withTags));
    else failures.push({ arn: reference, reason: 'MISSING' });
  }
  return { tasks, failures };
}

function runTask(sim: Sim, input: Json): Json {
  const home = cluster(sim, input.cluster);
  const definition = taskDefinitionFor(sim, input.taskDefinition);
  const count = typeof input.count === 'number' ? input.count : 1;
  if (count < 1 || count > 10) throw fault.invalid('count must be between 1 and 10.');
  const containers = ((definition.definition.containerDefinitions as Json[] | undefined) ?? []).map((container) => ({
    name: String(container.name),
    image: String(container.image),
    lastStatus: 'PENDING',
  }));
  const tags = (input.tags as TaskRecord['tags'] | undefined) ?? [];
  const tasks: Json[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = nextHex(sim.state, 32);
    const task: TaskRecord = {
      arn: arnOf(sim, 'ecs', `task/${home.name}/${id}`),
      region: sim.region,
      cluster: home.name,
      group: typeof input.group === 'string' ? input.group : `family:${definition.family}`,
      ...(typeof input.startedBy === 'string' ? { startedBy: input.startedBy } : {}),
      taskDefinitionArn: definition.arn,
      ...(typeof definition.definition.cpu === 'string' ? { cpu: definition.definition.cpu } : {}),
      ...(typeof definition.definition.memory === 'string' ? { memory: definition.definition.memory } : {}),
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: sim.now,
      containers,
      crashes: containers.some((container) => imageCrashes(sim, container.image)),
      nextAt: sim.now + sim.timings.taskStartMs,
      availabilityZone: `${sim.region}${ZONES[index % ZONES.length]}`,
      tags: input.propagateTags === 'TASK_DEFINITION' ? [...definition.tags, ...tags] : tags,
      ...(input.overrides ? { overrides: input.overrides as Json } : {}),
    };
    sim.state.ecs.tasks.push(task);
    tasks.push(renderTask(sim, task, false));
  }
  return { tasks, failures: [] };
}

function stopTask(sim: Sim, input: Json): Json {
  const home = cluster(sim, input.cluster);
  const reference = String(input.task ?? '');
  const task = sim.state.ecs.tasks.find(
    (each) =>
      each.region === sim.region &&
      each.cluster === home.name &&
      (each.arn === reference || lastPart(each.arn) === reference),
  );
  if (!task) throw fault.invalid('The referenced task was not found.');
  if (task.desiredStatus !== 'STOPPED') {
    Object.assign(task, {
      desiredStatus: 'STOPPED',
      stoppingAt: sim.now,
      stopCode: 'UserInitiated',
      stoppedReason: typeof input.reason === 'string' ? input.reason : 'Task stopped by user',
      nextAt: sim.now + sim.timings.taskStopMs,
    });
  }
  return { task: renderTask(sim, task, false) };
}

function describeServiceDeployments(sim: Sim, input: Json): Json {
  const arns = (input.serviceDeploymentArns as string[] | undefined) ?? [];
  if (arns.length === 0) throw fault.invalid('serviceDeploymentArns cannot be empty.');
  if (arns.length > 20) throw fault.invalid('serviceDeploymentArns cannot hold more than 20 ARNs.');
  const serviceDeployments: Json[] = [];
  const failures: Json[] = [];
  for (const arn of arns) {
    const found = sim.state.ecs.serviceDeployments.find((record) => record.arn === arn);
    if (found) serviceDeployments.push(renderServiceDeployment(sim, found));
    else failures.push({ arn, reason: 'MISSING', detail: 'The service deployment does not exist.' });
  }
  return { serviceDeployments, failures };
}

export const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

/** Every ECS operation Slipway calls, and what seeds and tests need to set a service up (CreateCluster, CreateService). */
export const ecsOperations: Record<string, Served<Sim>> = {
  CreateCluster: {
    schema: sdk.CreateCluster$,
    handle: (input, sim) => {
      const name = clusterNameOf(input.clusterName);
      let found = sim.state.ecs.clusters.find((each) => each.region === sim.region && each.name === name);
      if (!found) {
        found = { region: sim.region, name, createdAt: sim.now };
        sim.state.ecs.clusters.push(found);
      }
      return {
        cluster: {
          clusterArn: clusterArn(sim, sim.region, name),
          clusterName: name,
          status: 'ACTIVE',
          registeredContainerInstancesCount: 0,
          runningTasksCount: 0,
          pendingTasksCount: 0,
          activeServicesCount: 0,
          statistics: [],
          tags: [],
          settings: [{ name: 'containerInsights', value: 'disabled' }],
          capacityProviders: [],
          defaultCapacityProviderStrategy: [],
        },
      };
    },
  },
  ListClusters: {
    schema: sdk.ListClusters$,
    handle: (_input, sim) => ({
      clusterArns: sim.state.ecs.clusters
        .filter((each) => each.region === sim.region)
        .map((each) => clusterArn(sim, each.region, each.name)),
    }),
  },
  RegisterTaskDefinition: {
    schema: sdk.RegisterTaskDefinition$,
    handle: (input, sim) => {
      const record = registerTaskDefinition(sim, input, REGISTERED_BY(sim));
      return { taskDefinition: renderTaskDefinition(record), tags: record.tags };
    },
  },
  DescribeTaskDefinition: {
    schema: sdk.DescribeTaskDefinition$,
    handle: (input, sim) => {
      const found = findTaskDefinition(sim, input.taskDefinition);
      if (!found) throw fault.client('Unable to describe task definition.');
      const withTags = ((input.include as string[] | undefined) ?? []).includes('TAGS');
      return { taskDefinition: renderTaskDefinition(found), ...(withTags ? { tags: found.tags } : {}) };
    },
  },
  DeregisterTaskDefinition: {
    schema: sdk.DeregisterTaskDefinition$,
    handle: (input, sim) => {
      const reference = String(input.taskDefinition ?? '');
      if (!reference.includes(':'))
        throw fault.client('A task definition revision is required: family:revision or the full ARN.');
      const found = findTaskDefinition(sim, reference);
      if (!found) throw fault.client('The specified task definition does not exist.');
      if (found.status === 'ACTIVE') {
        found.status = 'INACTIVE';
        found.deregisteredAt = sim.now;
      }
      return { taskDefinition: renderTaskDefinition(found) };
    },
  },
  CreateService: { schema: sdk.CreateService$, handle: (input, sim) => createService(sim, input) },
  UpdateService: { schema: sdk.UpdateService$, handle: (input, sim) => updateService(sim, input) },
  DescribeServices: { schema: sdk.DescribeServices$, handle: (input, sim) => describeServices(sim, input) },
  DescribeServiceDeployments: {
    schema: sdk.DescribeServiceDeployments$,
    handle: (input, sim) => describeServiceDeployments(sim, input),
  },
  ListTasks: { schema: sdk.ListTasks$, handle: (input, sim) => listTasks(sim, input) },
  DescribeTasks: { schema: sdk.DescribeTasks$, handle: (input, sim) => describeTasks(sim, input) },
  RunTask: { schema: sdk.RunTask$, handle: (input, sim) => runTask(sim, input) },
  StopTask: { schema: sdk.StopTask$, handle: (input, sim) => stopTask(sim, input) },
};
