import { metrics } from '../observability';
import { type DeploymentsContext, notify } from './deployments-context';
import { diagnoseFailure } from './diagnosis';
import { type DeploymentRecord, type DeploymentState, releasesLock, transition } from './records';
import { pruneRevisions } from './rollout';

/**
 * Moves a record to `to` if it may still go there; releases the lock on a terminal state,
 * gathers why on a failure, prunes old revisions on a success, and notifies. Returns
 * undefined when the transition did not apply (a duplicate, or someone got there first).
 */
export async function finish(
  ctx: DeploymentsContext,
  record: DeploymentRecord,
  to: DeploymentState,
  note: string,
  options: { eventAt?: string; by?: string; set?: Partial<DeploymentRecord>; diagnose?: boolean } = {},
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
  let final = updated;
  if ((to === 'FAILED' || to === 'ROLLED_BACK') && options.diagnose !== false && !updated.failure) {
    const failure = await diagnoseFailure(ctx.deps.ecs, {
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

/** When ECS was asked to roll the deployment out (after approval, for one that needed it). */
export function startedAtOf(record: DeploymentRecord): string {
  return record.timeline.find((entry) => entry.state === 'IN_PROGRESS')?.at ?? record.createdAt;
}
