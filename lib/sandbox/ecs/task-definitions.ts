import { arnOf, type Sim } from '../sim';
import type { TaskDefinitionRecord } from '../state';
import type { Json } from '../wire';
import { fault } from './lookup';

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
