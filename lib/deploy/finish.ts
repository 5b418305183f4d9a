import { metrics } from '../observability';
import { type ContextWith, notify, type RecordContext, type RolloutContext } from './deployments-context';
import { diagnoseFailure } from './diagnosis';
import { deploymentOperation, placeOfRecord } from './placement';
import { type DeploymentRecord, type DeploymentState, releasesLock, transition } from './records';
import { pruneRevisions } from './rollout';

/**
 * Moves a record to `to` if it may still go there; releases the lock on a terminal state,
 * gathers why on a failure, prunes old revisions on a success, and notifies. Returns
 * undefined when the transition did not apply (a duplicate, or someone got there first).
 */
export async function finish(
  ctx: RolloutContext,
  record: DeploymentRecord,
  to: DeploymentState,
  note: string,
  options: { eventAt?: string; by?: string; set?: Partial<DeploymentRecord> } = {},
): Promise<DeploymentRecord | undefined> {
  const updated = await moveRecord(ctx, record, to, note, options);
  if (!updated) return undefined;
  let final = updated;
  if ((to === 'FAILED' || to === 'ROLLED_BACK') && !updated.failure) {
    const ecs = ctx.deps.ecsFor(
      placeOfRecord(ctx.deps.config, updated),
      deploymentOperation(updated, updated.requestedBy.name),
    );
    const failure = await diagnoseFailure(ecs, {
      cluster: updated.cluster,
      service: updated.service,
      ...(updated.to.taskDefinitionArn ? { taskDefinitionArn: updated.to.taskDefinitionArn } : {}),
      since: startedAtOf(updated),
      eventReason: note,
    });
    await ctx.deps.store.annotate(updated.id, { failure });
    final = { ...updated, failure };
  }
  if (to === 'SUCCEEDED') await pruneRevisions(ctx, final);
  await notify(ctx, final);
  return final;
}

/**
 * Ends a deployment ECS never started (cancelled, expired, or refused at its start), as finish does, with
 * nothing on ECS to diagnose or prune: so what cancels or approves a request reads no task of ECS.
 */
export async function endUnstarted(
  ctx: RecordContext,
  record: DeploymentRecord,
  to: 'CANCELLED' | 'EXPIRED' | 'FAILED',
  note: string,
  options: { by?: string; set?: Partial<DeploymentRecord> } = {},
): Promise<DeploymentRecord | undefined> {
  const updated = await moveRecord(ctx, record, to, note, options);
  if (updated) await notify(ctx, updated);
  return updated;
}

/** The transition itself: the record, the lock on a terminal state, the metric. */
async function moveRecord(
  ctx: ContextWith<'store' | 'locks'>,
  record: DeploymentRecord,
  to: DeploymentState,
  note: string,
  options: { eventAt?: string; by?: string; set?: Partial<DeploymentRecord> },
): Promise<DeploymentRecord | undefined> {
  const at = ctx.now().toISOString();
  const updated = await ctx.deps.store.apply(
    record.id,
    transition(to, at, { note, ...(options.by ? { by: options.by } : {}) }),
    {
      ...(options.eventAt ? { eventAt: options.eventAt } : {}),
      ...(options.set ? { set: options.set } : {}),
    },
  );
  if (!updated) return undefined;
  if (releasesLock(to)) await ctx.deps.locks.release(updated.app, updated.environment, updated.id);
  metrics.addMetric(`Deployments${to === 'SUCCEEDED' ? 'Succeeded' : 'Ended'}`, 'Count', 1);
  return updated;
}

/** When ECS was asked to roll the deployment out (after approval, for one that needed it). */
export function startedAtOf(record: DeploymentRecord): string {
  return record.timeline.find((entry) => entry.state === 'IN_PROGRESS')?.at ?? record.createdAt;
}
