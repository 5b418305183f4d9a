import type { DeploymentRecord } from './records';

/**
 * Decisions that read an environment's recorded history (newest first):
 * where a rollback goes, which registered revisions may go, what a promotion deploys.
 */

const changesTaskDefinition = (record: DeploymentRecord) =>
  record.kind === 'deploy' || record.kind === 'promote' || record.kind === 'rollback';

/**
 * The task definition that ran before the last successful deployment of what runs now,
 * as recorded when that deployment was made (never "revision − 1"). Walking back through
 * rollbacks: after rolling v3 back to v2, the next rollback goes to what ran before v2.
 */
export function rollbackTarget(
  history: DeploymentRecord[],
  runningTaskDefinitionArn: string,
): { taskDefinitionArn: string; deployment: DeploymentRecord } | undefined {
  const introduced = history.find(
    (record) =>
      record.state === 'SUCCEEDED' &&
      (record.kind === 'deploy' || record.kind === 'promote') &&
      record.to.taskDefinitionArn === runningTaskDefinitionArn &&
      record.from.taskDefinitionArn !== undefined &&
      record.from.taskDefinitionArn !== runningTaskDefinitionArn,
  );
  const taskDefinitionArn = introduced?.from.taskDefinitionArn;
  return introduced && taskDefinitionArn ? { taskDefinitionArn, deployment: introduced } : undefined;
}

/**
 * Revisions Slipway registered that it may now deregister: all but the newest `keep`,
 * never one still protected (running, a rollback target, or the target of a deployment in flight),
 * and never one it did not register itself.
 */
export function revisionsToDeregister(
  history: DeploymentRecord[],
  keep: number,
  protectedArns: ReadonlySet<string>,
): DeploymentRecord[] {
  const registered = history.filter(
    (record) =>
      record.registeredTaskDefinition && record.to.taskDefinitionArn !== undefined && changesTaskDefinition(record),
  );
  return registered
    .slice(keep)
    .filter(
      (record) =>
        record.taskDefinitionDeregisteredAt === undefined &&
        record.state !== 'PENDING_APPROVAL' &&
        record.state !== 'IN_PROGRESS' &&
        !protectedArns.has(record.to.taskDefinitionArn as string),
    );
}

/** The digest an environment last deployed successfully, if any. */
export function lastSuccessfulDigest(history: DeploymentRecord[]): DeploymentRecord | undefined {
  return history.find((record) => record.state === 'SUCCEEDED' && changesTaskDefinition(record) && record.to.digest);
}
