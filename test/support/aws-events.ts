import { randomUUID } from 'node:crypto';

/** AWS's EventBridge events, in the shapes the developer guides publish. */

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** EventBridge's `time` has second precision (the ECS and RDS event samples in the developer guides). */
export const eventTime = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export type EcsDeploymentEventName =
  | 'SERVICE_DEPLOYMENT_IN_PROGRESS'
  | 'SERVICE_DEPLOYMENT_COMPLETED'
  | 'SERVICE_DEPLOYMENT_FAILED';

/**
 * `ECS Deployment State Change` for one ECS deployment of a service, as EventBridge delivers it (Amazon ECS
 * Developer Guide, "Amazon ECS service deployment state change events"; events/ecs.deployment-*.json).
 */
export function ecsDeploymentStateChange(change: {
  serviceArn: string;
  eventName: EcsDeploymentEventName;
  deploymentId: string;
  reason: string;
  /** The account the event arrives with; absent, the service's own, as ECS sends it. */
  account?: string;
}) {
  const now = new Date();
  // The event comes from the service's own account and region (arn:aws:ecs:region:account:service/...).
  const [, , , region, account] = change.serviceArn.split(':');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'ECS Deployment State Change',
    source: 'aws.ecs',
    account: change.account ?? account ?? ACCOUNT,
    time: eventTime(now),
    region: region ?? REGION,
    resources: [change.serviceArn],
    detail: {
      eventType: change.eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
      eventName: change.eventName,
      deploymentId: change.deploymentId,
      // ECS stamps updatedAt to the second, as time ("updatedAt": "2020-05-23T11:11:11Z" in the published example).
      updatedAt: eventTime(now),
      reason: change.reason,
    },
  };
}

/** `ECR Image Action` for a successful push (Amazon ECR User Guide, "Amazon ECR events and EventBridge"). */
export function ecrPushEvent(repositoryName: string, tag: string, digest: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: ACCOUNT,
    time: eventTime(new Date()),
    region: REGION,
    resources: [],
    detail: {
      result: 'SUCCESS',
      'repository-name': repositoryName,
      'image-digest': digest,
      'action-type': 'PUSH',
      'image-tag': tag,
    },
  };
}
