import {
  DeregisterTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type Service,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import type { Operation } from '../aws/account-credentials';
import type { AppConfig, EnvironmentConfig } from '../config/schema';
import { SlipwayError, Unprocessable, UpstreamFailed } from '../errors';
import { generatedAlarmNames } from '../health/alarms';
import { logger, metrics } from '../observability';
import type { RolloutContext } from './deployments-context';
import {
  assertRollingUpdates,
  awsCallFailed,
  containerImages,
  deploymentConfiguration,
  describeService,
  describeTaskDefinition,
  digestOf,
  primaryDeploymentId,
  unlistedHookRoles,
} from './ecs';
import { revisionsToDeregister, rollbackTarget } from './history';
import { deploymentOperation, placeOf, placeOfRecord } from './placement';
import type { DeploymentKind, DeploymentRecord, ServiceRevision } from './records';
import {
  changedFields,
  type ImageChange,
  planTaskDefinition,
  unlistedRoles,
  unlistedRolesRefused,
} from './task-definition';

/**
 * The change a deployment makes on ECS: planned from the running service (a revision to register,
 * the UpdateService input), made (register, then UpdateService), and, once a deployment succeeded,
 * the old revisions Slipway registered deregistered.
 */

export interface DeploymentPlan {
  app: string;
  environment: string;
  kind: DeploymentKind;
  cluster: string;
  service: string;
  approvalsRequired: number;
  changes: ImageChange[];
  from: ServiceRevision;
  to: DeploymentRecord['to'];
  /**
   * The revision the service would run: a new one registered, or an existing one reused, and which of
   * its fields differ from the running one. Environment variables and secrets by name only: the
   * revision itself is never in a plan, since its values are the application's, not the deployer's.
   */
  taskDefinition: { registers: boolean; fieldsChanged: string[] };
  updateService: UpdateServiceCommandInput;
}

/** What a deployment will do to the service once it starts (the input UpdateService gets, and what it needs first). */
export interface Intent {
  kind: DeploymentKind;
  digest?: string;
  tag?: string;
  taskDefinitionArn?: string;
  desiredCount?: number;
}

export interface Started {
  from: ServiceRevision;
  to: DeploymentRecord['to'];
  registered: boolean;
  ecsDeploymentId?: string;
  serviceDeploymentArn?: string;
  /** True when ECS has nothing to roll out (a scale), so the outcome is known at once. */
  settled: boolean;
}

const ECS_CLIENT_FAULTS = new Set([
  'InvalidParameterException',
  'ClientException',
  'PlatformUnknownException',
  'PlatformTaskDefinitionIncompatibilityException',
  'ServiceNotActiveException',
  'ServiceNotFoundException',
  'UnsupportedFeatureException',
]);

/** ECS refusing a request for a reason the caller can act on is a 422 with ECS's words; anything else a 502. */
function ecsFailure(operation: string, error: unknown): SlipwayError {
  if (error instanceof SlipwayError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  if (ECS_CLIENT_FAULTS.has(name)) {
    return new Unprocessable(`ECS refused ${operation}: ${(error as Error).message}`, { cause: error });
  }
  return awsCallFailed(`ECS ${operation}`, error);
}

/** The ECS client of an environment's service, for an operation: the operation's session where it is in another account. */
export function ecsOf(
  ctx: Pick<RolloutContext, 'deps'>,
  env: Pick<EnvironmentConfig, 'account' | 'region'>,
  operation: Operation,
): ECSClient {
  return ctx.deps.ecsFor(placeOf(env), operation);
}

/** Reads the service and, for image changes, plans the revision; writes nothing. */
export async function planRollout(
  ctx: RolloutContext,
  input: Pick<DeploymentRecord, 'app' | 'environment'>,
  app: AppConfig,
  env: EnvironmentConfig,
  intent: Intent,
  approvalsRequired: number,
  operation: Operation,
): Promise<DeploymentPlan> {
  const ecs = ecsOf(ctx, env, operation);
  const service = await describeService(ecs, env.cluster, env.service);
  assertRollingUpdates(service);
  const prepared = await prepare(ctx, ecs, service, app, env, intent);
  return {
    app: input.app,
    environment: input.environment,
    kind: intent.kind,
    cluster: env.cluster,
    service: env.service,
    approvalsRequired,
    changes: prepared.changes,
    from: prepared.from,
    to: prepared.to,
    taskDefinition: { registers: prepared.register !== undefined, fieldsChanged: prepared.fieldsChanged },
    updateService: prepared.update(prepared.register ? '<registered revision>' : undefined),
  };
}

/**
 * The configured alarms and those Slipway generated from the health checks, for ECS to roll back on. ECS takes
 * alarms by name, not ARN (ECS API Reference, DeploymentAlarms), so it looks them up in the service's own account
 * and region, where the generated ones are made (lib/health/alarm-placement.ts): by a member account's template, by
 * the stack of another region of the control plane's account (lib/events/region-template.ts), or by its own stack.
 */
function alarmNames(ctx: RolloutContext, env: EnvironmentConfig): string[] {
  const located = locateEnvironment(ctx, env);
  const generated = located ? generatedAlarmNames(ctx.deps.stage, located.app, located.environment, env) : [];
  return [...new Set([...env.alarms, ...generated])];
}

function locateEnvironment(ctx: RolloutContext, env: EnvironmentConfig) {
  for (const [app, appConfig] of Object.entries(ctx.deps.config.apps)) {
    for (const [environment, candidate] of Object.entries(appConfig.environments)) {
      if (candidate === env) return { app, environment };
    }
  }
  return undefined;
}

async function prepare(
  ctx: RolloutContext,
  ecs: ECSClient,
  service: Service,
  app: AppConfig,
  env: EnvironmentConfig,
  intent: Intent,
) {
  const running = service.taskDefinition;
  if (!running) throw new UpstreamFailed(`ECS DescribeServices returned ${env.service} without a task definition`);
  const base = { cluster: env.cluster, service: env.service };
  const fromRevision = (images: Record<string, string>): ServiceRevision => {
    const digest = Object.values(images).map(digestOf).find(Boolean);
    const ecsDeploymentId = primaryDeploymentId(service);
    return {
      taskDefinitionArn: running,
      images,
      ...(digest ? { digest } : {}),
      ...(service.desiredCount !== undefined ? { desiredCount: service.desiredCount } : {}),
      ...(ecsDeploymentId ? { ecsDeploymentId } : {}),
    };
  };
  const configuration = deploymentConfiguration(service, alarmNames(ctx, env));
  // A scale sends no deploymentConfiguration, so it passes no hook role.
  const unlistedHooks = intent.kind === 'scale' ? [] : unlistedHookRoles(configuration, env.lifecycleHookRoles);
  if (unlistedHooks.length > 0) {
    throw unlistedRolesRefused(
      "the service's ECS lifecycle hooks name",
      unlistedHooks,
      'lifecycleHookRoles',
      env.lifecycleHookRoles,
    );
  }

  if (intent.kind === 'deploy' || intent.kind === 'promote') {
    const current = await describeTaskDefinition(ecs, running);
    const plan = planTaskDefinition(current.taskDefinition, current.tags, {
      containers: app.containers,
      repository: app.repository,
      digest: intent.digest as string,
    });
    const unlisted = unlistedRoles(plan.input, env.passRoles);
    if (unlisted.length > 0) {
      throw unlistedRolesRefused('the running task definition uses', unlisted, 'passRoles', env.passRoles);
    }
    const images = Object.fromEntries(plan.changes.map((change) => [change.container, change.to]));
    return {
      changes: plan.changes,
      fieldsChanged: changedFields(current.taskDefinition, plan.input),
      from: fromRevision(containerImages(current.taskDefinition, app.containers)),
      to: { images, digest: intent.digest, ...(intent.tag ? { tag: intent.tag } : {}) } as DeploymentRecord['to'],
      register: plan.input,
      update: (taskDefinition?: string): UpdateServiceCommandInput => ({
        ...base,
        ...(taskDefinition ? { taskDefinition } : {}),
        deploymentConfiguration: configuration,
      }),
    };
  }
  if (intent.kind === 'rollback') {
    const target = intent.taskDefinitionArn as string;
    const [current, previous] = await Promise.all([
      describeTaskDefinition(ecs, running),
      describeTaskDefinition(ecs, target),
    ]);
    const fromImages = containerImages(current.taskDefinition, app.containers);
    const toImages = containerImages(previous.taskDefinition, app.containers);
    const digest = Object.values(toImages).map(digestOf).find(Boolean);
    return {
      changes: Object.entries(toImages).map(([container, to]) => ({ container, from: fromImages[container], to })),
      fieldsChanged: changedFields(current.taskDefinition, previous.taskDefinition),
      from: fromRevision(fromImages),
      to: { taskDefinitionArn: target, images: toImages, ...(digest ? { digest } : {}) },
      register: undefined,
      update: (): UpdateServiceCommandInput => ({
        ...base,
        taskDefinition: target,
        deploymentConfiguration: configuration,
      }),
    };
  }
  const from = fromRevision({});
  if (intent.kind === 'restart') {
    return {
      changes: [],
      fieldsChanged: [],
      from,
      to: { taskDefinitionArn: running, images: {}, forceNewDeployment: true },
      register: undefined,
      update: (): UpdateServiceCommandInput => ({
        ...base,
        forceNewDeployment: true,
        deploymentConfiguration: configuration,
      }),
    };
  }
  return {
    changes: [],
    fieldsChanged: [],
    from,
    to: { taskDefinitionArn: running, images: {}, desiredCount: intent.desiredCount },
    register: undefined,
    update: (): UpdateServiceCommandInput => ({ ...base, desiredCount: intent.desiredCount }),
  };
}

/** Makes the change on ECS: register the revision if there is one, then UpdateService. */
export async function startRollout(
  ctx: RolloutContext,
  app: AppConfig,
  env: EnvironmentConfig,
  intent: Intent,
  record: Pick<DeploymentRecord, 'id' | 'app' | 'environment'>,
  operation: Operation,
): Promise<Started> {
  const ecs = ecsOf(ctx, env, operation);
  const service = await describeService(ecs, env.cluster, env.service);
  assertRollingUpdates(service);
  const prepared = await prepare(ctx, ecs, service, app, env, intent);
  let registeredArn: string | undefined;
  if (prepared.register) {
    try {
      const { taskDefinition } = await ecs.send(new RegisterTaskDefinitionCommand(prepared.register));
      registeredArn = taskDefinition?.taskDefinitionArn;
    } catch (error) {
      throw ecsFailure('RegisterTaskDefinition', error);
    }
    if (!registeredArn) throw new UpstreamFailed('ECS RegisterTaskDefinition returned no task definition ARN');
  }
  let updated: Service | undefined;
  try {
    ({ service: updated } = await ecs.send(new UpdateServiceCommand(prepared.update(registeredArn))));
  } catch (error) {
    // Nothing runs the revision registered for this attempt: deregister it rather than leave it behind.
    if (registeredArn) await deregisterQuietly(ecs, registeredArn, record.id);
    throw ecsFailure('UpdateService', error);
  }
  const ecsDeploymentId = updated ? primaryDeploymentId(updated) : undefined;
  const to = registeredArn ? { ...prepared.to, taskDefinitionArn: registeredArn } : prepared.to;
  return {
    from: prepared.from,
    to,
    registered: registeredArn !== undefined,
    ...(ecsDeploymentId ? { ecsDeploymentId } : {}),
    ...(updated?.currentServiceDeployment ? { serviceDeploymentArn: updated.currentServiceDeployment } : {}),
    // A new desired count changes no revision: ECS starts or stops tasks without a new deployment.
    settled: intent.kind === 'scale',
  };
}

export function startedFields(started: Started) {
  return {
    from: started.from,
    to: started.to,
    registeredTaskDefinition: started.registered,
    ...(started.ecsDeploymentId ? { ecsDeploymentId: started.ecsDeploymentId } : {}),
    ...(started.serviceDeploymentArn ? { serviceDeploymentArn: started.serviceDeploymentArn } : {}),
  };
}

async function deregisterQuietly(ecs: ECSClient, taskDefinition: string, deploymentId: string): Promise<void> {
  try {
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition }));
  } catch (error) {
    logger.warn('a revision registered for a failed start was not deregistered', {
      taskDefinition,
      deploymentId,
      error: error as Error,
    });
  }
}

/** Keeps the newest `keepRevisions` revisions Slipway registered, and any it may still roll back to. */
export async function pruneRevisions(ctx: RolloutContext, succeeded: DeploymentRecord): Promise<void> {
  const { keepRevisions } = ctx.deps.config.deployments;
  try {
    const ecs = ctx.deps.ecsFor(
      placeOfRecord(ctx.deps.config, succeeded),
      deploymentOperation(succeeded, succeeded.requestedBy.name),
    );
    const history = (await ctx.deps.store.history(succeeded.app, succeeded.environment, { limit: keepRevisions + 25 }))
      .items;
    const running = succeeded.to.taskDefinitionArn;
    const protectedArns = new Set<string>();
    if (running) {
      protectedArns.add(running);
      const target = rollbackTarget(history, running);
      if (target) protectedArns.add(target.taskDefinitionArn);
    }
    if (succeeded.from.taskDefinitionArn) protectedArns.add(succeeded.from.taskDefinitionArn);
    for (const record of revisionsToDeregister(history, keepRevisions, protectedArns)) {
      const taskDefinition = record.to.taskDefinitionArn as string;
      await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition }));
      await ctx.deps.store.annotate(record.id, { taskDefinitionDeregisteredAt: ctx.now().toISOString() });
      logger.info('deregistered an old revision Slipway registered', { taskDefinition, deploymentId: record.id });
      await ctx.deps.audit.record({
        source: 'automatic',
        actor: 'revision-pruning',
        action: 'taskDefinition.deregister',
        decision: 'allowed',
        target: { app: record.app, environment: record.environment, deploymentId: record.id, taskDefinition },
        outcome: { result: 'succeeded', detail: `older than the newest ${keepRevisions} Slipway registered` },
      });
    }
  } catch (error) {
    // Pruning is housekeeping: the deployment succeeded whether or not it worked.
    logger.warn('old revisions were not pruned', { deploymentId: succeeded.id, error: error as Error });
    metrics.addMetric('RevisionPruneFailures', 'Count', 1);
  }
}
