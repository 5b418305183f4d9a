import { audited } from '../audit/trail';
import type { Operation } from '../aws/account-credentials';
import type { AppConfig, EnvironmentConfig } from '../config/schema';
import { Conflict, Forbidden, SlipwayError, Unprocessable } from '../errors';
import { metrics } from '../observability';
import {
  type DeploymentsContext,
  environmentOf,
  notify,
  type RecordContext,
  type RolloutContext,
} from './deployments-context';
import { containerImages, describeService, describeTaskDefinition, digestOf, resolveImage } from './ecs';
import { endUnstarted } from './finish';
import { lastSuccessfulDigest, rollbackTarget } from './history';
import { deploymentOperation, repositorySession } from './placement';
import { getDeployment } from './queries';
import {
  approverLabel,
  type DeploymentKind,
  type DeploymentRecord,
  type DeploymentState,
  type Requester,
  releasesLock,
  samePerson,
  transition,
} from './records';
import {
  type DeploymentPlan,
  ecsOf,
  type Intent,
  planRollout,
  type Started,
  startedFields,
  startRollout,
} from './rollout';

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

export type RequestOutcome = { dryRun: true; plan: DeploymentPlan } | { dryRun: false; deployment: DeploymentRecord };

const APPROVAL_KINDS: readonly DeploymentKind[] = ['deploy', 'promote'];

export async function requestDeployment(ctx: DeploymentsContext, input: DeploymentRequest): Promise<RequestOutcome> {
  // A person's request is audited by its route; Slipway's own (releases, alarms) here.
  if (input.requestedBy.kind !== 'system' || input.dryRun) return requestNow(ctx, input);
  return audited(
    ctx.deps.audit,
    {
      actor: input.requestedBy.name,
      action: `deployment.${input.target.kind}`,
      target: { app: input.app, environment: input.environment },
    },
    () => requestNow(ctx, input),
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

async function requestNow(ctx: DeploymentsContext, input: DeploymentRequest): Promise<RequestOutcome> {
  const { app, env } = environmentOf(ctx.deps.config, input.app, input.environment);
  // The id names the deployment's session in the environment's account from its first read on (a dry run's too).
  const id = ctx.newId();
  const operation = deploymentOperation({ id, app: input.app, environment: input.environment }, input.requestedBy.name);
  const intent = await intentFor(ctx, input, app, env, operation);
  const approvalsRequired = APPROVAL_KINDS.includes(intent.kind) ? env.approvals : 0;

  if (input.dryRun) {
    return { dryRun: true, plan: await planRollout(ctx, input, app, env, intent, approvalsRequired, operation) };
  }

  const createdAt = ctx.now().toISOString();
  await ctx.deps.locks.acquire({
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
      const planned = await planRollout(ctx, input, app, env, intent, approvalsRequired, operation);
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
            Date.parse(createdAt) + ctx.deps.config.deployments.approvalHours * 3_600_000,
          ).toISOString(),
          by: [],
        },
        timeline: [
          { state: 'REQUESTED', at: createdAt, by: input.requestedBy.name },
          { state: 'PENDING_APPROVAL', at: createdAt, note: `needs ${approvalsRequired} approval(s)` },
        ],
      };
    } else {
      const started = await startRollout(ctx, app, env, intent, base, operation);
      const at = ctx.now().toISOString();
      const state: DeploymentState = started.settled ? 'SUCCEEDED' : 'IN_PROGRESS';
      record = {
        ...base,
        ...startedFields(started),
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
    await ctx.deps.store.create(record);
  } catch (error) {
    await ctx.deps.locks.release(input.app, input.environment, id);
    throw error;
  }
  if (releasesLock(record.state)) await ctx.deps.locks.release(record.app, record.environment, record.id);
  metrics.addMetric('DeploymentsRequested', 'Count', 1);
  await notify(ctx, record);
  return { dryRun: false, deployment: record };
}

export async function approveDeployment(
  ctx: RolloutContext,
  id: string,
  approver: Requester,
): Promise<DeploymentRecord> {
  const who = approverLabel(approver);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const record = await pending(ctx, id);
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
    const at = ctx.now().toISOString();
    const approval = { by: approver.name, at, ...(approver.person ? { person: approver.person } : {}) };
    const approved = await ctx.deps.store.addApproval(id, approval, record.approvals.by.length);
    // Another approval landed between the read and the write: read again.
    if (!approved) continue;
    if (approved.approvals.by.length < approved.approvals.required) {
      await notify(ctx, approved, 'deployment.approval');
      return approved;
    }
    return startApproved(ctx, approved, approver);
  }
  throw new Conflict(`deployment ${id} is being approved by others at this moment; try again`);
}

export async function cancelDeployment(ctx: RecordContext, id: string, by: Requester): Promise<DeploymentRecord> {
  const record = await getDeployment(ctx.deps, id);
  if (record.state === 'IN_PROGRESS') {
    throw new Conflict(
      `deployment ${id} is already rolling out on ECS; roll it back with POST /v1/apps/${record.app}/environments/${record.environment}/rollback`,
      { details: { state: record.state } },
    );
  }
  if (record.state !== 'PENDING_APPROVAL') {
    throw new Conflict(`deployment ${id} has already ended (${record.state})`, { details: { state: record.state } });
  }
  const cancelled = await endUnstarted(ctx, record, 'CANCELLED', `cancelled by ${by.name}`, { by: by.name });
  if (!cancelled) throw new Conflict(`deployment ${id} changed while it was being cancelled; read it again`);
  return cancelled;
}

async function pending(ctx: RecordContext, id: string): Promise<DeploymentRecord> {
  const record = await getDeployment(ctx.deps, id);
  if (record.state !== 'PENDING_APPROVAL') {
    throw new Conflict(`deployment ${id} is not waiting for approval (${record.state})`, {
      details: { state: record.state },
    });
  }
  const deadline = record.approvals.deadline;
  if (deadline && Date.parse(deadline) <= ctx.now().getTime()) {
    await endUnstarted(ctx, record, 'EXPIRED', `no approval before the deadline ${deadline}`);
    throw new Conflict(`deployment ${id} waited for approval past its deadline (${deadline}) and has expired`, {
      details: { state: 'EXPIRED', deadline },
    });
  }
  return record;
}

async function startApproved(
  ctx: RolloutContext,
  record: DeploymentRecord,
  approver: Requester,
): Promise<DeploymentRecord> {
  const { app, env } = environmentOf(ctx.deps.config, record.app, record.environment);
  const intent: Intent = {
    kind: record.kind,
    ...(record.to.digest ? { digest: record.to.digest } : {}),
    ...(record.to.tag ? { tag: record.to.tag } : {}),
  };
  let started: Started;
  try {
    started = await startRollout(ctx, app, env, intent, record, deploymentOperation(record, approver.name));
  } catch (error) {
    const reason =
      error instanceof SlipwayError && error.expose ? error.message : `could not start: ${(error as Error).name}`;
    // It could not start, so ECS has nothing to tell: the failure is the reason itself.
    await endUnstarted(ctx, record, 'FAILED', reason, {
      set: { failure: { reason, serviceEvents: [], stoppedTasks: [] } },
    });
    throw error;
  }
  const at = ctx.now().toISOString();
  const running = await ctx.deps.store.apply(
    record.id,
    transition(started.settled ? 'SUCCEEDED' : 'IN_PROGRESS', at, {
      note: started.ecsDeploymentId ? `approved; ECS deployment ${started.ecsDeploymentId}` : 'approved',
    }),
    { set: startedFields(started) },
  );
  if (!running) throw new Conflict(`deployment ${record.id} changed while it was being started; read it again`);
  await notify(ctx, running);
  return running;
}

async function intentFor(
  ctx: DeploymentsContext,
  input: DeploymentRequest,
  app: AppConfig,
  env: EnvironmentConfig,
  operation: Operation,
): Promise<Intent> {
  const target = input.target;
  switch (target.kind) {
    case 'deploy': {
      const image = await resolveImage(
        ctx.deps.ecrFor,
        app.repository,
        'digest' in target ? { digest: target.digest } : { tag: target.tag },
        repositorySession(ctx.deps.config, app.repository, env, operation),
      );
      const tag = image.tag ?? ('digest' in target ? target.tag : undefined);
      return { kind: 'deploy', digest: image.digest, ...(tag ? { tag } : {}) };
    }
    case 'promote':
      return {
        kind: 'promote',
        digest: await promotionDigest(ctx, input.app, input.environment, app, env, target.from, operation),
      };
    case 'rollback': {
      const service = await describeService(ecsOf(ctx, env, operation), env.cluster, env.service);
      const running = service.taskDefinition ?? '';
      const history = (await ctx.deps.store.history(input.app, input.environment, { limit: 100 })).items;
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
async function promotionDigest(
  ctx: DeploymentsContext,
  appName: string,
  environment: string,
  app: AppConfig,
  env: EnvironmentConfig,
  from: string | undefined,
  operation: Operation,
): Promise<string> {
  const sourceName = from ?? env.promoteFrom;
  if (!sourceName) {
    throw new Unprocessable(`${appName}/${environment} has no promoteFrom; name the source environment in "from"`, {
      details: [{ location: 'body', field: 'from', message: 'is required: this environment has no promoteFrom' }],
    });
  }
  if (sourceName === environment) throw new Unprocessable(`an environment cannot be promoted from itself`);
  const source = environmentOf(ctx.deps.config, appName, sourceName).env;
  // The source may be in another account or region than the environment promoted to.
  const ecs = ecsOf(ctx, source, operation);
  const service = await describeService(ecs, source.cluster, source.service);
  const images = service.taskDefinition
    ? containerImages((await describeTaskDefinition(ecs, service.taskDefinition)).taskDefinition, app.containers)
    : {};
  const running = Object.values(images).map(digestOf).find(Boolean);
  const last = lastSuccessfulDigest((await ctx.deps.store.history(appName, sourceName, { limit: 50 })).items);
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
