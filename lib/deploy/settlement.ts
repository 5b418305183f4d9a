import { DescribeServiceDeploymentsCommand } from '@aws-sdk/client-ecs';
import { AssumeRoleFailed, SlipwayError } from '../errors';
import { logger, metrics } from '../observability';
import { notify, type RolloutContext } from './deployments-context';
import { describeService } from './ecs';
import { ignoredFromElsewhere } from './event-origin';
import { finish, startedAtOf } from './finish';
import {
  type EcsDeploymentEvent,
  serviceArnParts,
  stateFromServiceDeployments,
  stateOfServiceDeployment,
  verdictForEvent,
} from './outcome';
import { arnInPlace, deploymentOperation, eventSourceOf, type Home, placeOfRecord } from './placement';
import { type DeploymentRecord, type DeploymentState, isInFlight } from './records';

/**
 * How deployments end when nobody asks: ECS's deployment events, and the reconciler that settles
 * what events left open (asks ECS, times out, expires approvals, releases stale locks).
 */

const minutes = (count: number) => count * 60_000;

/** Why ECS gave no answer: the name of AWS's error (AccessDeniedException, ThrottlingException, …), else Slipway's words. */
function whyUnanswered(error: unknown): string {
  const cause = error instanceof SlipwayError ? error.cause : error;
  if (cause instanceof Error) return cause.name;
  return error instanceof Error ? error.message : 'Error';
}

/**
 * Applies an ECS deployment event; anything that is not for a deployment in flight changes nothing, nor
 * does an event whose account and region are not those of the environment owning the service it names.
 */
export async function onEcsEvent(
  ctx: RolloutContext,
  event: EcsDeploymentEvent,
  home: Home,
): Promise<{ applied: boolean; reason: string; deploymentId?: string }> {
  const located = locateService(ctx, event.resources[0] ?? '', home);
  if (!located) return { applied: false, reason: 'not a service Slipway manages' };
  const { source } = located;
  if (event.account !== source.account || event.region !== source.region) {
    const reason = ignoredFromElsewhere(
      event,
      { what: `${located.app}/${located.environment}'s service`, ...source },
      {
        message: 'ECS event from another account or region than the service it names ignored',
        metric: 'EcsEventsFromOtherAccounts',
        fields: { app: located.app, environment: located.environment },
      },
    );
    return { applied: false, reason };
  }
  const { items: recent } = await ctx.deps.store.history(located.app, located.environment, { limit: 10 });
  const verdict = verdictForEvent(event, recent);
  if (!verdict)
    return { applied: false, reason: `no deployment in flight is ECS deployment ${event.detail.deploymentId}` };
  const record = recent.find((candidate) => candidate.id === verdict.deploymentId) as DeploymentRecord;
  const finished = await finish(ctx, record, verdict.to, verdict.note, { eventAt: event.detail.updatedAt });
  return finished
    ? { applied: true, reason: `${record.state} → ${verdict.to}`, deploymentId: record.id }
    : { applied: false, reason: 'a duplicate, or older than the last event applied', deploymentId: record.id };
}

/**
 * Settles what events left open: asks ECS about deployments in flight for longer than
 * `settleAfterMinutes`, ends those past the limit, expires approvals past their deadline.
 */
export async function reconcileDeployments(
  ctx: RolloutContext,
): Promise<Array<{ deploymentId: string; outcome: string }>> {
  const { settleAfterMinutes, timeoutMinutes } = ctx.deps.config.deployments;
  const now = ctx.now();
  const results: Array<{ deploymentId: string; outcome: string }> = [];
  for (const lock of await ctx.deps.locks.list()) {
    const age = now.getTime() - Date.parse(lock.acquiredAt);
    if (age < minutes(settleAfterMinutes)) continue;
    try {
      results.push({ deploymentId: lock.deploymentId, outcome: await settle(ctx, lock, now, timeoutMinutes) });
    } catch (error) {
      // One environment ECS cannot answer for must not keep the others from settling.
      logger.error('deployment could not be reconciled', { deploymentId: lock.deploymentId, error: error as Error });
      results.push({ deploymentId: lock.deploymentId, outcome: `error: ${(error as Error).name}` });
    }
  }
  return results;
}

/** The environment whose service the ARN names, where its events come from (an account unknown: the ARN's). */
function locateService(ctx: RolloutContext, serviceArn: string, home: Home) {
  const arn = serviceArnParts(serviceArn);
  if (!arn) return undefined;
  for (const [app, appConfig] of Object.entries(ctx.deps.config.apps)) {
    for (const [environment, env] of Object.entries(appConfig.environments)) {
      const cluster = env.cluster.split('/').at(-1);
      const expected = eventSourceOf(ctx.deps.config, env, home);
      if (cluster === arn.cluster && env.service === arn.service && arnInPlace(expected, arn)) {
        return { app, environment, source: { account: expected.account ?? arn.account, region: expected.region } };
      }
    }
  }
  return undefined;
}

async function settle(
  ctx: RolloutContext,
  lock: { app: string; environment: string; deploymentId: string; acquiredAt: string },
  now: Date,
  timeoutMinutes: number,
): Promise<string> {
  const record = await ctx.deps.store.get(lock.deploymentId);
  if (!record) {
    // The request ended between taking the lock and recording the deployment.
    await ctx.deps.locks.release(lock.app, lock.environment, lock.deploymentId);
    logger.error('lock held without a deployment record was released', { ...lock });
    metrics.addMetric('OrphanedLocksReleased', 'Count', 1);
    return 'released an orphaned lock';
  }
  if (!isInFlight(record.state)) {
    await ctx.deps.locks.release(record.app, record.environment, record.id);
    return `released the lock of a ${record.state} deployment`;
  }
  if (record.state === 'PENDING_APPROVAL') {
    const deadline = record.approvals.deadline;
    if (deadline && Date.parse(deadline) <= now.getTime()) {
      const note = `no approval before the deadline ${deadline}`;
      if (await finish(ctx, record, 'EXPIRED', note)) await auditEnd(ctx, record, 'expire', 'EXPIRED', note);
      return 'EXPIRED';
    }
    return 'waiting for approval';
  }
  // An approved deployment starts long after it was requested: its clock runs from the start.
  const startedAt = Date.parse(startedAtOf(record));
  if (now.getTime() - startedAt < minutes(ctx.deps.config.deployments.settleAfterMinutes)) return 'recently started';
  let verdict: { to: DeploymentState; note: string } | undefined;
  let unanswered: string | undefined;
  try {
    verdict = await askEcs(ctx, record);
  } catch (error) {
    // Denied, throttled or gone: ECS not answering must never keep the lock past the timeout.
    unanswered = whyUnanswered(error);
    ecsUnanswered('DescribeServices', record, error);
    if (error instanceof AssumeRoleFailed) await recordUnreachable(ctx, record, error.message, now);
  }
  if (verdict) {
    const finished = await finish(ctx, record, verdict.to, `${verdict.note} (reconciler)`);
    return finished ? verdict.to : 'changed meanwhile';
  }
  if (now.getTime() - startedAt >= minutes(timeoutMinutes)) {
    const note = `no outcome from ECS after ${timeoutMinutes} minutes${unanswered ? ` (last asked: ${unanswered})` : ''}`;
    if (await finish(ctx, record, 'TIMED_OUT', note)) await auditEnd(ctx, record, 'timeout', 'TIMED_OUT', note);
    return 'TIMED_OUT';
  }
  return unanswered ? `still in progress; ECS could not tell (${unanswered})` : 'still in progress';
}

async function askEcs(
  ctx: RolloutContext,
  record: DeploymentRecord,
): Promise<{ to: DeploymentState; note: string } | undefined> {
  const ecs = ctx.deps.ecsFor(
    placeOfRecord(ctx.deps.config, record),
    deploymentOperation(record, record.requestedBy.name),
  );
  if (record.serviceDeploymentArn) {
    try {
      const { serviceDeployments } = await ecs.send(
        new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [record.serviceDeploymentArn] }),
      );
      const found = serviceDeployments?.[0];
      if (found) return stateOfServiceDeployment(found);
    } catch (error) {
      // No session on the account's role: DescribeServices would be refused the same way.
      if (error instanceof AssumeRoleFailed) throw error;
      // The service's deployment list can still tell: ask DescribeServices as for older records.
      ecsUnanswered('DescribeServiceDeployments', record, error);
    }
  }
  const service = await describeService(ecs, record.cluster, record.service);
  return stateFromServiceDeployments(record, service.deployments ?? []);
}

/**
 * Records on the deployment why ECS cannot be asked about it (its account's role refused), and notifies,
 * once per reason: the reconciler asks again on each run, and the deployment timeout still ends it.
 */
async function recordUnreachable(ctx: RolloutContext, record: DeploymentRecord, reason: string, now: Date) {
  if (record.ecsUnreachable?.reason === reason) return;
  const ecsUnreachable = { reason, at: now.toISOString() };
  await ctx.deps.store.annotate(record.id, { ecsUnreachable });
  await notify(ctx, { ...record, ecsUnreachable }, 'deployment.unreachable');
}

function ecsUnanswered(operation: string, record: DeploymentRecord, error: unknown): void {
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

/** The reconciler ended a deployment nobody had an outcome for. */
async function auditEnd(
  ctx: RolloutContext,
  record: DeploymentRecord,
  verb: string,
  state: DeploymentState,
  note: string,
) {
  await ctx.deps.audit.record({
    source: 'automatic',
    actor: 'reconciler',
    action: `deployment.${verb}`,
    decision: 'allowed',
    target: { app: record.app, environment: record.environment, deploymentId: record.id },
    outcome: { result: 'succeeded', code: state, detail: note },
  });
}
