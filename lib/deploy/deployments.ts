import { randomUUID } from 'node:crypto';
import type { ECRClient } from '@aws-sdk/client-ecr';
import {
  DeregisterTaskDefinitionCommand,
  DescribeServiceDeploymentsCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type Service,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import { type AuditRecorder, audited } from '../audit/trail';
import type { AppConfig, EnvironmentConfig, SlipwayConfig } from '../config/schema';
import { Conflict, Forbidden, SlipwayError, Unprocessable, UpstreamFailed } from '../errors';
import { generatedAlarmNames } from '../health/alarms';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { DeploymentStore, Page } from '../store/deployments';
import type { EnvironmentLocks } from '../store/locks';
import { diagnoseFailure } from './diagnosis';
import {
  assertRollingUpdates,
  containerImages,
  deploymentConfiguration,
  describeService,
  describeTaskDefinition,
  digestOf,
  primaryDeploymentId,
  resolveImage,
  unlistedHookRoles,
} from './ecs';
import { lastSuccessfulDigest, revisionsToDeregister, rollbackTarget } from './history';
import {
  type EcsDeploymentEvent,
  serviceFromArn,
  stateFromServiceDeployments,
  stateOfServiceDeployment,
  verdictForEvent,
} from './outcome';
import { DeploymentReads, environmentOf, summary } from './reads';
import {
  approverLabel,
  type DeploymentKind,
  type DeploymentRecord,
  type DeploymentState,
  isInFlight,
  type Requester,
  releasesLock,
  type ServiceRevision,
  samePerson,
  transition,
} from './records';
import {
  changedFields,
  type ImageChange,
  planTaskDefinition,
  unlistedRoles,
  unlistedRolesRefused,
} from './task-definition';

/**
 * The deploy use case: every way of changing what an environment runs (HTTP, and later pushes
 * and alarms) comes through here, so locks, approvals, records and notifications always apply.
 */

export type DeployTarget =
  | { kind: 'deploy'; tag: string }
  /** By digest; a push also names the tag it came with, for the record. */
  | { kind: 'deploy'; digest: string; tag?: string }
  | { kind: 'promote'; from?: string }
  | { kind: 'rollback' }
  | { kind: 'restart' }
  | { kind: 'scale'; desiredCount: number };

export interface DeploymentRequest {
  app: string;
  environment: string;
  target: DeployTarget;
  requestedBy: Requester;
  reason?: string;
  dryRun?: boolean;
}

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

export type RequestOutcome = { dryRun: true; plan: DeploymentPlan } | { dryRun: false; deployment: DeploymentRecord };

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
}

export interface DeploymentsDeps {
  config: SlipwayConfig;
  /** Names the alarms generated from the health checks, which UpdateService gets with the configured ones. */
  stage: string;
  store: DeploymentStore;
  locks: EnvironmentLocks;
  ecs: ECSClient;
  ecrFor: (region: string) => ECRClient;
  publisher: Publisher;
  /** Where deployments Slipway starts or ends by itself (releases, alarms, the reconciler) are recorded. */
  audit: AuditRecorder;
  now?: () => Date;
  newId?: () => string;
}

/** What a deployment will do to the service once it starts (the input UpdateService gets, and what it needs first). */
interface Intent {
  kind: DeploymentKind;
  digest?: string;
  tag?: string;
  taskDefinitionArn?: string;
  desiredCount?: number;
}

interface Started {
  from: ServiceRevision;
  to: DeploymentRecord['to'];
  registered: boolean;
  ecsDeploymentId?: string;
  serviceDeploymentArn?: string;
  /** True when ECS has nothing to roll out (a scale), so the outcome is known at once. */
  settled: boolean;
}

const APPROVAL_KINDS: readonly DeploymentKind[] = ['deploy', 'promote'];
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
  return new UpstreamFailed(`ECS ${operation} failed (${name})`, { cause: error });
}

const minutes = (count: number) => count * 60_000;

/** Why ECS gave no answer: the name of AWS's error (AccessDeniedException, ThrottlingException, …), else Slipway's words. */
function whyUnanswered(error: unknown): string {
  const cause = error instanceof SlipwayError ? error.cause : error;
  if (cause instanceof Error) return cause.name;
  return error instanceof Error ? error.message : 'Error';
}

export class Deployments {
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly reads: DeploymentReads;

  constructor(private readonly deps: DeploymentsDeps) {
    this.reads = new DeploymentReads(deps);
    this.now = deps.now ?? (() => new Date());
    this.newId = deps.newId ?? (() => `dep-${randomUUID()}`);
  }

  // ---- requests -------------------------------------------------------------------------

  async request(input: DeploymentRequest): Promise<RequestOutcome> {
    // A person's request is audited by its route; Slipway's own (releases, alarms) here.
    if (input.requestedBy.kind !== 'system' || input.dryRun) return this.requestNow(input);
    return audited(
      this.deps.audit,
      {
        actor: input.requestedBy.name,
        action: `deployment.${input.target.kind}`,
        target: { app: input.app, environment: input.environment },
      },
      () => this.requestNow(input),
      (outcome) =>
        outcome.dryRun
          ? undefined
          : {
              target: { deploymentId: outcome.deployment.id },
              outcome: {
                result: 'succeeded',
                code: outcome.deployment.state,
                ...(input.reason ? { detail: input.reason } : {}),
              },
            },
    );
  }

  private async requestNow(input: DeploymentRequest): Promise<RequestOutcome> {
    const { app, env } = this.environmentOf(input.app, input.environment);
    const intent = await this.intentFor(input, app, env);
    const approvalsRequired = APPROVAL_KINDS.includes(intent.kind) ? env.approvals : 0;

    if (input.dryRun) {
      return { dryRun: true, plan: await this.plan(input, app, env, intent, approvalsRequired) };
    }

    const id = this.newId();
    const createdAt = this.now().toISOString();
    await this.deps.locks.acquire({
      app: input.app,
      environment: input.environment,
      deploymentId: id,
      acquiredAt: createdAt,
    });
    const base = {
      id,
      app: input.app,
      environment: input.environment,
      kind: intent.kind,
      requestedBy: input.requestedBy,
      ...(input.reason ? { reason: input.reason } : {}),
      createdAt,
      cluster: env.cluster,
      service: env.service,
    };

    let record: DeploymentRecord;
    try {
      if (approvalsRequired > 0) {
        const planned = await this.plan(input, app, env, intent, approvalsRequired);
        record = {
          ...base,
          state: 'PENDING_APPROVAL',
          updatedAt: createdAt,
          from: planned.from,
          to: planned.to,
          registeredTaskDefinition: false,
          approvals: {
            required: approvalsRequired,
            deadline: new Date(
              Date.parse(createdAt) + this.deps.config.deployments.approvalHours * 3_600_000,
            ).toISOString(),
            by: [],
          },
          timeline: [
            { state: 'REQUESTED', at: createdAt, by: input.requestedBy.name },
            { state: 'PENDING_APPROVAL', at: createdAt, note: `needs ${approvalsRequired} approval(s)` },
          ],
        };
      } else {
        const started = await this.start(app, env, intent, base);
        const at = this.now().toISOString();
        const state: DeploymentState = started.settled ? 'SUCCEEDED' : 'IN_PROGRESS';
        record = {
          ...base,
          ...this.startedFields(started),
          state,
          updatedAt: at,
          approvals: { required: 0, by: [] },
          timeline: [
            { state: 'REQUESTED', at: createdAt, by: input.requestedBy.name },
            started.ecsDeploymentId
              ? { state: 'IN_PROGRESS', at, note: `ECS deployment ${started.ecsDeploymentId}` }
              : { state: 'IN_PROGRESS', at },
            ...(started.settled ? [{ state: 'SUCCEEDED' as const, at, note: 'ECS applied the change at once' }] : []),
          ],
        };
      }
      await this.deps.store.create(record);
    } catch (error) {
      await this.deps.locks.release(input.app, input.environment, id);
      throw error;
    }
    if (releasesLock(record.state)) await this.deps.locks.release(record.app, record.environment, record.id);
    metrics.addMetric('DeploymentsRequested', 'Count', 1);
    await this.notify(record);
    return { dryRun: false, deployment: record };
  }

  async approve(id: string, approver: Requester): Promise<DeploymentRecord> {
    const who = approverLabel(approver);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const record = await this.pending(id);
      if (samePerson(record.requestedBy, approver)) {
        throw new Forbidden(`${who} requested deployment ${id} and cannot approve it too`, {
          details: { requestedBy: record.requestedBy.name },
        });
      }
      if (record.approvals.by.some((approval) => samePerson(approval, approver))) {
        throw new Conflict(`${who} has already approved deployment ${id}`, {
          details: { approvals: record.approvals.by },
        });
      }
      const at = this.now().toISOString();
      const approval = { by: approver.name, at, ...(approver.person ? { person: approver.person } : {}) };
      const approved = await this.deps.store.addApproval(id, approval, record.approvals.by.length);
      // Another approval landed between the read and the write: read again.
      if (!approved) continue;
      if (approved.approvals.by.length < approved.approvals.required) {
        await this.notify(approved, 'deployment.approval');
        return approved;
      }
      return this.startApproved(approved);
    }
    throw new Conflict(`deployment ${id} is being approved by others at this moment; try again`);
  }

  async cancel(id: string, by: Requester): Promise<DeploymentRecord> {
    const record = await this.get(id);
    if (record.state === 'IN_PROGRESS') {
      throw new Conflict(
        `deployment ${id} is already rolling out on ECS; roll it back with POST /v1/apps/${record.app}/environments/${record.environment}/rollback`,
        { details: { state: record.state } },
      );
    }
    if (record.state !== 'PENDING_APPROVAL') {
      throw new Conflict(`deployment ${id} has already ended (${record.state})`, { details: { state: record.state } });
    }
    const cancelled = await this.finish(record, 'CANCELLED', `cancelled by ${by.name}`, { by: by.name });
    if (!cancelled) throw new Conflict(`deployment ${id} changed while it was being cancelled; read it again`);
    return cancelled;
  }

  async get(id: string): Promise<DeploymentRecord> {
    return this.reads.get(id);
  }

  async history(
    app: string,
    environment: string,
    page: { limit?: number; cursor?: string },
  ): Promise<Page<DeploymentRecord>> {
    return this.reads.history(app, environment, page);
  }

  async apps() {
    return this.reads.apps();
  }

  async environment(appName: string, environment: string): Promise<EnvironmentView> {
    const { app, env } = this.environmentOf(appName, environment);
    const [service, page, holder] = await Promise.all([
      describeService(this.deps.ecs, env.cluster, env.service),
      this.deps.store.history(appName, environment, { limit: 1 }),
      this.deps.locks.holder(appName, environment),
    ]);
    const images = service.taskDefinition
      ? containerImages(
          (await describeTaskDefinition(this.deps.ecs, service.taskDefinition)).taskDefinition,
          app.containers,
        )
      : {};
    const inFlight = holder ? await this.deps.store.get(holder) : undefined;
    const digest = Object.values(images).map(digestOf).find(Boolean);
    return {
      app: appName,
      environment,
      cluster: env.cluster,
      service: env.service,
      approvals: env.approvals,
      ...(env.promoteFrom ? { promoteFrom: env.promoteFrom } : {}),
      running: {
        taskDefinitionArn: service.taskDefinition,
        images,
        ...(digest ? { digest } : {}),
        desiredCount: service.desiredCount,
        runningCount: service.runningCount,
        pendingCount: service.pendingCount,
        status: service.status,
      },
      ...(page.items[0] ? { lastDeployment: page.items[0] } : {}),
      ...(inFlight && isInFlight(inFlight.state) ? { inFlight } : {}),
    };
  }

  // ---- outcomes -------------------------------------------------------------------------

  /** Applies an ECS deployment event; anything that is not for a deployment in flight changes nothing. */
  async onEcsEvent(event: EcsDeploymentEvent): Promise<{ applied: boolean; reason: string; deploymentId?: string }> {
    const located = this.locateService(event.resources[0] ?? '');
    if (!located) return { applied: false, reason: 'not a service Slipway manages' };
    const { items: recent } = await this.deps.store.history(located.app, located.environment, { limit: 10 });
    const verdict = verdictForEvent(event, recent);
    if (!verdict)
      return { applied: false, reason: `no deployment in flight is ECS deployment ${event.detail.deploymentId}` };
    const record = recent.find((candidate) => candidate.id === verdict.deploymentId) as DeploymentRecord;
    const finished = await this.finish(record, verdict.to, verdict.note, { eventAt: event.detail.updatedAt });
    return finished
      ? { applied: true, reason: `${record.state} → ${verdict.to}`, deploymentId: record.id }
      : { applied: false, reason: 'a duplicate, or older than the last event applied', deploymentId: record.id };
  }

  /**
   * Settles what events left open: asks ECS about deployments in flight for longer than
   * `settleAfterMinutes`, ends those past the limit, expires approvals past their deadline.
   */
  async reconcile(): Promise<Array<{ deploymentId: string; outcome: string }>> {
    const { settleAfterMinutes, timeoutMinutes } = this.deps.config.deployments;
    const now = this.now();
    const results: Array<{ deploymentId: string; outcome: string }> = [];
    for (const lock of await this.deps.locks.list()) {
      const age = now.getTime() - Date.parse(lock.acquiredAt);
      if (age < minutes(settleAfterMinutes)) continue;
      try {
        results.push({ deploymentId: lock.deploymentId, outcome: await this.settle(lock, now, timeoutMinutes) });
      } catch (error) {
        // One environment ECS cannot answer for must not keep the others from settling.
        logger.error('deployment could not be reconciled', { deploymentId: lock.deploymentId, error: error as Error });
        results.push({ deploymentId: lock.deploymentId, outcome: `error: ${(error as Error).name}` });
      }
    }
    return results;
  }

  // ---- internals ------------------------------------------------------------------------

  private environmentOf(appName: string, environment: string): { app: AppConfig; env: EnvironmentConfig } {
    return environmentOf(this.deps.config, appName, environment);
  }

  private locateService(serviceArn: string): { app: string; environment: string } | undefined {
    const located = serviceFromArn(serviceArn);
    if (!located) return undefined;
    for (const [app, appConfig] of Object.entries(this.deps.config.apps)) {
      for (const [environment, env] of Object.entries(appConfig.environments)) {
        const cluster = env.cluster.split('/').at(-1);
        if (cluster === located.cluster && env.service === located.service) return { app, environment };
      }
    }
    return undefined;
  }

  private async intentFor(input: DeploymentRequest, app: AppConfig, env: EnvironmentConfig): Promise<Intent> {
    const target = input.target;
    switch (target.kind) {
      case 'deploy': {
        const image = await resolveImage(
          this.deps.ecrFor,
          app.repository,
          'digest' in target ? { digest: target.digest } : { tag: target.tag },
        );
        const tag = image.tag ?? ('digest' in target ? target.tag : undefined);
        return { kind: 'deploy', digest: image.digest, ...(tag ? { tag } : {}) };
      }
      case 'promote':
        return {
          kind: 'promote',
          digest: await this.promotionDigest(input.app, input.environment, app, env, target.from),
        };
      case 'rollback': {
        const service = await describeService(this.deps.ecs, env.cluster, env.service);
        const running = service.taskDefinition ?? '';
        const history = (await this.deps.store.history(input.app, input.environment, { limit: 100 })).items;
        const found = rollbackTarget(history, running);
        if (!found) {
          throw new Conflict(
            `${input.app}/${input.environment} runs ${running}, which no successful Slipway deployment introduced; there is no recorded revision to roll back to`,
            { details: { running } },
          );
        }
        return {
          kind: 'rollback',
          taskDefinitionArn: found.taskDefinitionArn,
          ...(found.deployment.from.digest ? { digest: found.deployment.from.digest } : {}),
        };
      }
      case 'restart':
        return { kind: 'restart' };
      case 'scale':
        if (target.desiredCount > env.maxDesiredCount) {
          throw new Unprocessable(
            `desiredCount ${target.desiredCount} is above the maximum of ${env.maxDesiredCount} configured for ${input.app}/${input.environment}`,
            { details: { desiredCount: target.desiredCount, maxDesiredCount: env.maxDesiredCount } },
          );
        }
        return { kind: 'scale', desiredCount: target.desiredCount };
    }
  }

  /** Exactly the digest the source environment runs now and last deployed successfully. */
  private async promotionDigest(
    appName: string,
    environment: string,
    app: AppConfig,
    env: EnvironmentConfig,
    from: string | undefined,
  ): Promise<string> {
    const sourceName = from ?? env.promoteFrom;
    if (!sourceName) {
      throw new Unprocessable(`${appName}/${environment} has no promoteFrom; name the source environment in "from"`, {
        details: [{ location: 'body', field: 'from', message: 'is required: this environment has no promoteFrom' }],
      });
    }
    if (sourceName === environment) throw new Unprocessable(`an environment cannot be promoted from itself`);
    const source = this.environmentOf(appName, sourceName).env;
    const service = await describeService(this.deps.ecs, source.cluster, source.service);
    const images = service.taskDefinition
      ? containerImages(
          (await describeTaskDefinition(this.deps.ecs, service.taskDefinition)).taskDefinition,
          app.containers,
        )
      : {};
    const running = Object.values(images).map(digestOf).find(Boolean);
    const last = lastSuccessfulDigest((await this.deps.store.history(appName, sourceName, { limit: 50 })).items);
    if (!running || !last?.to.digest || last.to.digest !== running) {
      throw new Conflict(
        !last?.to.digest
          ? `${appName}/${sourceName} has no successful deployment to promote`
          : `${appName}/${sourceName} runs ${running ?? 'an image not pinned by digest'}, not ${last.to.digest} from its last successful deployment ${last.id}; nothing to promote`,
        { details: { source: sourceName, running: running ?? null, lastSuccessful: last?.to.digest ?? null } },
      );
    }
    return running;
  }

  /** Reads the service and, for image changes, plans the revision; writes nothing. */
  private async plan(
    input: Pick<DeploymentRequest, 'app' | 'environment'>,
    app: AppConfig,
    env: EnvironmentConfig,
    intent: Intent,
    approvalsRequired: number,
  ): Promise<DeploymentPlan> {
    const service = await describeService(this.deps.ecs, env.cluster, env.service);
    assertRollingUpdates(service);
    const prepared = await this.prepare(service, app, env, intent);
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

  /** The configured alarms and those Slipway generated from the health checks, for ECS to roll back on. */
  private alarmNames(env: EnvironmentConfig): string[] {
    const located = this.locateEnvironment(env);
    const generated = located ? generatedAlarmNames(this.deps.stage, located.app, located.environment, env) : [];
    return [...new Set([...env.alarms, ...generated])];
  }

  private locateEnvironment(env: EnvironmentConfig) {
    for (const [app, appConfig] of Object.entries(this.deps.config.apps)) {
      for (const [environment, candidate] of Object.entries(appConfig.environments)) {
        if (candidate === env) return { app, environment };
      }
    }
    return undefined;
  }

  private async prepare(service: Service, app: AppConfig, env: EnvironmentConfig, intent: Intent) {
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
    const configuration = deploymentConfiguration(service, this.alarmNames(env));
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
      const current = await describeTaskDefinition(this.deps.ecs, running);
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
        describeTaskDefinition(this.deps.ecs, running),
        describeTaskDefinition(this.deps.ecs, target),
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
  private async start(
    app: AppConfig,
    env: EnvironmentConfig,
    intent: Intent,
    record: Pick<DeploymentRecord, 'id' | 'app' | 'environment'>,
  ): Promise<Started> {
    const service = await describeService(this.deps.ecs, env.cluster, env.service);
    assertRollingUpdates(service);
    const prepared = await this.prepare(service, app, env, intent);
    let registeredArn: string | undefined;
    if (prepared.register) {
      try {
        const { taskDefinition } = await this.deps.ecs.send(new RegisterTaskDefinitionCommand(prepared.register));
        registeredArn = taskDefinition?.taskDefinitionArn;
      } catch (error) {
        throw ecsFailure('RegisterTaskDefinition', error);
      }
      if (!registeredArn) throw new UpstreamFailed('ECS RegisterTaskDefinition returned no task definition ARN');
    }
    let updated: Service | undefined;
    try {
      ({ service: updated } = await this.deps.ecs.send(new UpdateServiceCommand(prepared.update(registeredArn))));
    } catch (error) {
      // Nothing runs the revision registered for this attempt: deregister it rather than leave it behind.
      if (registeredArn) await this.deregisterQuietly(registeredArn, record.id);
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

  private startedFields(started: Started) {
    return {
      from: started.from,
      to: started.to,
      registeredTaskDefinition: started.registered,
      ...(started.ecsDeploymentId ? { ecsDeploymentId: started.ecsDeploymentId } : {}),
      ...(started.serviceDeploymentArn ? { serviceDeploymentArn: started.serviceDeploymentArn } : {}),
    };
  }

  private async pending(id: string): Promise<DeploymentRecord> {
    const record = await this.get(id);
    if (record.state !== 'PENDING_APPROVAL') {
      throw new Conflict(`deployment ${id} is not waiting for approval (${record.state})`, {
        details: { state: record.state },
      });
    }
    const deadline = record.approvals.deadline;
    if (deadline && Date.parse(deadline) <= this.now().getTime()) {
      await this.finish(record, 'EXPIRED', `no approval before the deadline ${deadline}`);
      throw new Conflict(`deployment ${id} waited for approval past its deadline (${deadline}) and has expired`, {
        details: { state: 'EXPIRED', deadline },
      });
    }
    return record;
  }

  private async startApproved(record: DeploymentRecord): Promise<DeploymentRecord> {
    const { app, env } = this.environmentOf(record.app, record.environment);
    const intent: Intent = {
      kind: record.kind,
      ...(record.to.digest ? { digest: record.to.digest } : {}),
      ...(record.to.tag ? { tag: record.to.tag } : {}),
    };
    let started: Started;
    try {
      started = await this.start(app, env, intent, record);
    } catch (error) {
      const reason =
        error instanceof SlipwayError && error.expose ? error.message : `could not start: ${(error as Error).name}`;
      await this.finish(record, 'FAILED', reason, {
        set: { failure: { reason, serviceEvents: [], stoppedTasks: [] } },
        diagnose: false,
      });
      throw error;
    }
    const at = this.now().toISOString();
    const running = await this.deps.store.apply(
      record.id,
      transition(started.settled ? 'SUCCEEDED' : 'IN_PROGRESS', at, {
        note: started.ecsDeploymentId ? `approved; ECS deployment ${started.ecsDeploymentId}` : 'approved',
      }),
      { set: this.startedFields(started) },
    );
    if (!running) throw new Conflict(`deployment ${record.id} changed while it was being started; read it again`);
    await this.notify(running);
    return running;
  }

  /**
   * Moves a record to `to` if it may still go there; releases the lock on a terminal state,
   * gathers why on a failure, prunes old revisions on a success, and notifies. Returns
   * undefined when the transition did not apply (a duplicate, or someone got there first).
   */
  private async finish(
    record: DeploymentRecord,
    to: DeploymentState,
    note: string,
    options: { eventAt?: string; by?: string; set?: Partial<DeploymentRecord>; diagnose?: boolean } = {},
  ): Promise<DeploymentRecord | undefined> {
    const at = this.now().toISOString();
    const updated = await this.deps.store.apply(
      record.id,
      transition(to, at, { note, ...(options.by ? { by: options.by } : {}) }),
      {
        ...(options.eventAt ? { eventAt: options.eventAt } : {}),
        ...(options.set ? { set: options.set } : {}),
      },
    );
    if (!updated) return undefined;
    if (releasesLock(to)) await this.deps.locks.release(updated.app, updated.environment, updated.id);
    metrics.addMetric(`Deployments${to === 'SUCCEEDED' ? 'Succeeded' : 'Ended'}`, 'Count', 1);
    let final = updated;
    if ((to === 'FAILED' || to === 'ROLLED_BACK') && options.diagnose !== false && !updated.failure) {
      const failure = await diagnoseFailure(this.deps.ecs, {
        cluster: updated.cluster,
        service: updated.service,
        ...(updated.to.taskDefinitionArn ? { taskDefinitionArn: updated.to.taskDefinitionArn } : {}),
        since: startedAtOf(updated),
        eventReason: note,
      });
      await this.deps.store.annotate(updated.id, { failure });
      final = { ...updated, failure };
    }
    if (to === 'SUCCEEDED') await this.pruneRevisions(final);
    await this.notify(final);
    return final;
  }

  private async settle(
    lock: { app: string; environment: string; deploymentId: string; acquiredAt: string },
    now: Date,
    timeoutMinutes: number,
  ): Promise<string> {
    const record = await this.deps.store.get(lock.deploymentId);
    if (!record) {
      // The request ended between taking the lock and recording the deployment.
      await this.deps.locks.release(lock.app, lock.environment, lock.deploymentId);
      logger.error('lock held without a deployment record was released', { ...lock });
      metrics.addMetric('OrphanedLocksReleased', 'Count', 1);
      return 'released an orphaned lock';
    }
    if (!isInFlight(record.state)) {
      await this.deps.locks.release(record.app, record.environment, record.id);
      return `released the lock of a ${record.state} deployment`;
    }
    if (record.state === 'PENDING_APPROVAL') {
      const deadline = record.approvals.deadline;
      if (deadline && Date.parse(deadline) <= now.getTime()) {
        const note = `no approval before the deadline ${deadline}`;
        if (await this.finish(record, 'EXPIRED', note)) await this.auditEnd(record, 'expire', 'EXPIRED', note);
        return 'EXPIRED';
      }
      return 'waiting for approval';
    }
    // An approved deployment starts long after it was requested: its clock runs from the start.
    const startedAt = Date.parse(startedAtOf(record));
    if (now.getTime() - startedAt < minutes(this.deps.config.deployments.settleAfterMinutes)) return 'recently started';
    let verdict: { to: DeploymentState; note: string } | undefined;
    let unanswered: string | undefined;
    try {
      verdict = await this.askEcs(record);
    } catch (error) {
      // Denied, throttled or gone: ECS not answering must never keep the lock past the timeout.
      unanswered = whyUnanswered(error);
      this.ecsUnanswered('DescribeServices', record, error);
    }
    if (verdict) {
      const finished = await this.finish(record, verdict.to, `${verdict.note} (reconciler)`);
      return finished ? verdict.to : 'changed meanwhile';
    }
    if (now.getTime() - startedAt >= minutes(timeoutMinutes)) {
      const note = `no outcome from ECS after ${timeoutMinutes} minutes${unanswered ? ` (last asked: ${unanswered})` : ''}`;
      if (await this.finish(record, 'TIMED_OUT', note)) await this.auditEnd(record, 'timeout', 'TIMED_OUT', note);
      return 'TIMED_OUT';
    }
    return unanswered ? `still in progress; ECS could not tell (${unanswered})` : 'still in progress';
  }

  private async askEcs(record: DeploymentRecord): Promise<{ to: DeploymentState; note: string } | undefined> {
    if (record.serviceDeploymentArn) {
      try {
        const { serviceDeployments } = await this.deps.ecs.send(
          new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [record.serviceDeploymentArn] }),
        );
        const found = serviceDeployments?.[0];
        if (found) return stateOfServiceDeployment(found);
      } catch (error) {
        // The service's deployment list can still tell: ask DescribeServices as for older records.
        this.ecsUnanswered('DescribeServiceDeployments', record, error);
      }
    }
    const service = await describeService(this.deps.ecs, record.cluster, record.service);
    return stateFromServiceDeployments(record, service.deployments ?? []);
  }

  private ecsUnanswered(operation: string, record: DeploymentRecord, error: unknown): void {
    logger.error('ECS did not answer the reconciler', {
      operation,
      deploymentId: record.id,
      app: record.app,
      environment: record.environment,
      why: whyUnanswered(error),
      error: error as Error,
    });
    metrics.addMetric('ReconcilerEcsFailures', 'Count', 1);
  }

  private async deregisterQuietly(taskDefinition: string, deploymentId: string): Promise<void> {
    try {
      await this.deps.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition }));
    } catch (error) {
      logger.warn('a revision registered for a failed start was not deregistered', {
        taskDefinition,
        deploymentId,
        error: error as Error,
      });
    }
  }

  /** Keeps the newest `keepRevisions` revisions Slipway registered, and any it may still roll back to. */
  private async pruneRevisions(succeeded: DeploymentRecord): Promise<void> {
    const { keepRevisions } = this.deps.config.deployments;
    try {
      const history = (
        await this.deps.store.history(succeeded.app, succeeded.environment, { limit: keepRevisions + 25 })
      ).items;
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
        await this.deps.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition }));
        await this.deps.store.annotate(record.id, { taskDefinitionDeregisteredAt: this.now().toISOString() });
        logger.info('deregistered an old revision Slipway registered', { taskDefinition, deploymentId: record.id });
        await this.deps.audit.record({
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

  /** The reconciler ended a deployment nobody had an outcome for. */
  private async auditEnd(record: DeploymentRecord, verb: string, state: DeploymentState, note: string) {
    await this.deps.audit.record({
      source: 'automatic',
      actor: 'reconciler',
      action: `deployment.${verb}`,
      decision: 'allowed',
      target: { app: record.app, environment: record.environment, deploymentId: record.id },
      outcome: { result: 'succeeded', code: state, detail: note },
    });
  }

  private async notify(record: DeploymentRecord, type = 'deployment.state'): Promise<void> {
    const { app, environment, state, kind } = record;
    const from = record.from.digest ?? record.from.taskDefinitionArn ?? '?';
    const to = record.to.digest ?? record.to.taskDefinitionArn ?? '?';
    await this.deps.publisher.publish({
      subject: `Slipway: ${app}/${environment} ${kind} ${state}`,
      type,
      app,
      environment,
      state,
      body: { deployment: summary(record), from, to },
    });
  }
}

/** When ECS was asked to roll the deployment out (after approval, for one that needed it). */
function startedAtOf(record: DeploymentRecord): string {
  return record.timeline.find((entry) => entry.state === 'IN_PROGRESS')?.at ?? record.createdAt;
}
