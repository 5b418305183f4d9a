import * as sdk from '@aws-sdk/client-ecs';
import { arnOf, type Sim } from '../sim';
import { nextHex, type ServiceRecord, type TaskDefinitionRecord, type TaskRecord } from '../state';
import type { Json, Served } from '../wire';
import { advanceService, imageCrashes, startDeployment } from './advance';
import { cluster, clusterArn, clusterNameOf, fault, findService, findTaskDefinition, lastPart, ZONES } from './lookup';
import { renderService, renderServiceDeployment, renderTask, renderTaskDefinition } from './render';
import { registerTaskDefinition } from './task-definitions';

// The operations

const DEFAULT_DEPLOYMENT_CONFIGURATION = {
  deploymentCircuitBreaker: { enable: false, rollback: false },
  maximumPercent: 200,
  minimumHealthyPercent: 100,
};

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
