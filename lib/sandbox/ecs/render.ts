import { arnOf, type Sim } from '../sim';
import type {
  EcsDeploymentRecord,
  Millis,
  ServiceDeploymentRecord,
  ServiceRecord,
  TaskDefinitionRecord,
  TaskRecord,
} from '../state';
import type { Json } from '../wire';
import { clusterArn, lastPart, serviceArn } from './lookup';

// Rendering, as the API answers

export function renderTaskDefinition(definition: TaskDefinitionRecord): Json {
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

export function renderService(sim: Sim, service: ServiceRecord, withTags: boolean): Json {
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

export function renderTask(sim: Sim, task: TaskRecord, withTags: boolean): Json {
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

export function renderServiceDeployment(sim: Sim, record: ServiceDeploymentRecord): Json {
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
