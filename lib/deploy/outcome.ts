import type { Deployment, ServiceDeployment } from '@aws-sdk/client-ecs';
import * as z from 'zod/mini';
import '../errors/validation';
import type { DeploymentRecord, DeploymentState } from './records';

/**
 * How a deployment ended, decided from what ECS says: its deployment events, and for the
 * reconciler, DescribeServiceDeployments / DescribeServices. Pure functions of plain data.
 */

/**
 * `ECS Deployment State Change`, as EventBridge delivers it (ECS developer guide). Built in a call marked pure,
 * so a bundle that uses only this module's decisions drops it.
 */
export const ecsDeploymentEvent = /* @__PURE__ */ (() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    source: z.literal('aws.ecs'),
    'detail-type': z.literal('ECS Deployment State Change'),
    // Where the event comes from: the account and region of the service it names (EventBridge events).
    account: z.string().check(z.minLength(1)),
    time: z.string(),
    region: z.optional(z.string()),
    resources: z.array(z.string()).check(z.minLength(1)),
    detail: z.object({
      eventType: z.string(),
      eventName: z.string(),
      deploymentId: z.string().check(z.minLength(1)),
      updatedAt: z.string().check(z.minLength(1)),
      reason: z.optional(z.string()),
    }),
  }))();
export type EcsDeploymentEvent = z.output<typeof ecsDeploymentEvent>;

const ROLLING_BACK = /rolling back to deploymentId (\S+?)\.?$/;

/** The deployment ECS rolls back to, when a reason says so. */
export function rollbackTargetOf(reason: string | undefined): string | undefined {
  return reason ? ROLLING_BACK.exec(reason.trim())?.[1] : undefined;
}

/** `arn:aws:ecs:region:account:service/cluster/service` → where the service is, and its cluster and service names. */
export function serviceArnParts(
  arn: string,
): { region: string; account: string; cluster: string; service: string } | undefined {
  const match = /^arn:aws[a-z-]*:ecs:([^:]*):(\d*):service\/([^/]+)\/([^/]+)$/.exec(arn);
  return match?.[3] && match[4]
    ? { region: match[1] ?? '', account: match[2] ?? '', cluster: match[3], service: match[4] }
    : undefined;
}

/** `arn:aws:ecs:region:account:service/cluster/service` → its cluster and service names. */
export function serviceFromArn(arn: string): { cluster: string; service: string } | undefined {
  const parts = serviceArnParts(arn);
  return parts ? { cluster: parts.cluster, service: parts.service } : undefined;
}

export interface Verdict {
  deploymentId: string;
  to: DeploymentState;
  note: string;
}

/**
 * What an ECS event means for the deployments recorded for its service (newest first):
 * at most one transition, for the one deployment it concerns, or nothing.
 */
export function verdictForEvent(event: EcsDeploymentEvent, recent: DeploymentRecord[]): Verdict | undefined {
  const { eventName, deploymentId, reason } = event.detail;
  const rollingBackTo = rollbackTargetOf(reason);
  if (rollingBackTo) {
    // The rollback runs as a new ECS deployment; ours is the one that had replaced the target.
    const rolledBack = recent.find(
      (record) =>
        (record.ecsDeploymentId === deploymentId ||
          (record.from.ecsDeploymentId === rollingBackTo && record.ecsDeploymentId !== undefined)) &&
        (record.state === 'IN_PROGRESS' || record.state === 'FAILED'),
    );
    return rolledBack
      ? { deploymentId: rolledBack.id, to: 'ROLLED_BACK', note: reason ?? 'ECS rolled the deployment back' }
      : undefined;
  }
  const ours = recent.find((record) => record.ecsDeploymentId === deploymentId);
  if (!ours) return undefined;
  if (eventName === 'SERVICE_DEPLOYMENT_COMPLETED') {
    return { deploymentId: ours.id, to: 'SUCCEEDED', note: reason ?? 'ECS reached a steady state' };
  }
  if (eventName === 'SERVICE_DEPLOYMENT_FAILED') {
    return { deploymentId: ours.id, to: 'FAILED', note: reason ?? 'ECS reported the deployment failed' };
  }
  return undefined;
}

/** A service deployment's status (DescribeServiceDeployments), as Slipway's state; undefined while it runs. */
export function stateOfServiceDeployment(
  deployment: Pick<ServiceDeployment, 'status' | 'statusReason' | 'rollback'>,
): { to: DeploymentState; note: string } | undefined {
  const reason = deployment.rollback?.reason ?? deployment.statusReason;
  switch (deployment.status) {
    case 'SUCCESSFUL':
      return { to: 'SUCCEEDED', note: reason ?? 'ECS reached a steady state' };
    case 'ROLLBACK_REQUESTED':
    case 'ROLLBACK_IN_PROGRESS':
    case 'ROLLBACK_SUCCESSFUL':
      return { to: 'ROLLED_BACK', note: reason ?? 'ECS rolled the deployment back' };
    case 'ROLLBACK_FAILED':
      return { to: 'FAILED', note: `the rollback failed too${reason ? `: ${reason}` : ''}` };
    case 'STOPPED':
      return { to: 'FAILED', note: `ECS stopped the deployment${reason ? `: ${reason}` : ''}` };
    default:
      return undefined;
  }
}

/** The same answer from DescribeServices, for deployments made before service deployments existed. */
export function stateFromServiceDeployments(
  record: Pick<DeploymentRecord, 'ecsDeploymentId' | 'from' | 'to'>,
  deployments: Deployment[],
): { to: DeploymentState; note: string } | undefined {
  const ours = deployments.find((deployment) => deployment.id === record.ecsDeploymentId);
  const rollback = deployments.find(
    (deployment) =>
      deployment.id !== record.ecsDeploymentId &&
      record.from.ecsDeploymentId !== undefined &&
      rollbackTargetOf(deployment.rolloutStateReason) === record.from.ecsDeploymentId,
  );
  if (rollback) return { to: 'ROLLED_BACK', note: rollback.rolloutStateReason ?? 'ECS rolled the deployment back' };
  if (!ours) {
    // Once a rollback completes ECS lists only the deployment it rolled back to; ours has drained away.
    const primary = deployments.find((deployment) => deployment.status === 'PRIMARY');
    const changedRevision =
      record.from.taskDefinitionArn !== undefined && record.to.taskDefinitionArn !== record.from.taskDefinitionArn;
    return changedRevision &&
      primary?.rolloutState === 'COMPLETED' &&
      primary.taskDefinition === record.from.taskDefinitionArn
      ? {
          to: 'ROLLED_BACK',
          note: `ECS no longer lists ${record.ecsDeploymentId}; the service runs ${primary.taskDefinition} again`,
        }
      : undefined;
  }
  if (ours.rolloutState === 'COMPLETED') {
    return { to: 'SUCCEEDED', note: ours.rolloutStateReason ?? 'ECS reached a steady state' };
  }
  if (ours.rolloutState === 'FAILED') {
    return { to: 'FAILED', note: ours.rolloutStateReason ?? 'ECS reported the deployment failed' };
  }
  return undefined;
}
