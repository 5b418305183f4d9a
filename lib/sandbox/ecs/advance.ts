import { behaviourOf, CRASH } from '../behaviour';
import { imageOfReference } from '../ecr';
import { ecsDeploymentStateChange } from '../events';
import { breakerOf, ecsWords, liveTasks, nextDeploymentStep } from '../rollout';
import { arnOf, envelopeOf, type Sim } from '../sim';
import {
  type EcsDeploymentRecord,
  type Millis,
  nextDigits,
  nextHex,
  nextUuid,
  type ServiceRecord,
  type TaskRecord,
} from '../state';
import type { Json } from '../wire';
import { findTaskDefinition, lastPart, serviceArn, ZONES } from './lookup';
import { serviceKey } from './render';

// Services and their deployments

const MAX_SERVICE_EVENTS = 100;
const MAX_STOPPED_TASKS_PER_SERVICE = 100;

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
export function startDeployment(sim: Sim, service: ServiceRecord): EcsDeploymentRecord {
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

export function imageCrashes(sim: Sim, image: string): boolean {
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
export function advanceService(sim: Sim, service: ServiceRecord): void {
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
