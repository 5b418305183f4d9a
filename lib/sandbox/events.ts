import type { Json } from './wire';

/**
 * The EventBridge events AWS sends for what the sandbox does, in the shapes the services publish
 * (test/fixtures/published/ quotes each page): pure functions of what happened and when.
 */

export interface Envelope {
  id: string;
  account: string;
  region: string;
  at: number;
}

/** EventBridge's `time`, and ECS's `updatedAt`, are to the second (the ECS and RDS examples in the developer guides). */
export const secondsTime = (at: number) => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** CloudWatch's state timestamps: milliseconds and `+0000` (Amazon CloudWatch User Guide, "Alarm events and EventBridge"). */
export const cloudWatchTime = (at: number) => new Date(at).toISOString().replace('Z', '+0000');

function envelope(base: Envelope, source: string, detailType: string, resources: string[], detail: Json): Json {
  return {
    version: '0',
    id: base.id,
    'detail-type': detailType,
    source,
    account: base.account,
    time: secondsTime(base.at),
    region: base.region,
    resources,
    detail,
  };
}

export type EcsDeploymentEventName =
  | 'SERVICE_DEPLOYMENT_IN_PROGRESS'
  | 'SERVICE_DEPLOYMENT_COMPLETED'
  | 'SERVICE_DEPLOYMENT_FAILED';

/** Amazon ECS Developer Guide, "Amazon ECS service deployment state change events". */
export function ecsDeploymentStateChange(
  base: Envelope,
  change: { serviceArn: string; eventName: EcsDeploymentEventName; deploymentId: string; reason: string },
): Json {
  return envelope(base, 'aws.ecs', 'ECS Deployment State Change', [change.serviceArn], {
    eventType: change.eventName === 'SERVICE_DEPLOYMENT_FAILED' ? 'ERROR' : 'INFO',
    eventName: change.eventName,
    deploymentId: change.deploymentId,
    updatedAt: secondsTime(base.at),
    reason: change.reason,
  });
}

/** Amazon ECR User Guide, "Amazon ECR events and EventBridge": a completed push (`resources` is empty there). */
export function ecrImagePushed(base: Envelope, push: { repositoryName: string; digest: string; tag: string }): Json {
  return envelope(base, 'aws.ecr', 'ECR Image Action', [], {
    result: 'SUCCESS',
    'repository-name': push.repositoryName,
    'image-digest': push.digest,
    'action-type': 'PUSH',
    'image-tag': push.tag,
  });
}

/**
 * The same page's basic scan completed; `finding-severity-counts` "only returns a value for a severity
 * level if one exists".
 */
export function ecrImageScanned(
  base: Envelope,
  scan: {
    repositoryArn: string;
    repositoryName: string;
    digest: string;
    tags: string[];
    counts: Record<string, number>;
  },
): Json {
  const counts = Object.fromEntries(Object.entries(scan.counts).filter(([, count]) => count > 0));
  return envelope(base, 'aws.ecr', 'ECR Image Scan', [scan.repositoryArn], {
    'scan-status': 'COMPLETE',
    'repository-name': scan.repositoryName,
    'finding-severity-counts': counts,
    'image-digest': scan.digest,
    'image-tags': scan.tags,
  });
}

export interface AlarmStateValue {
  value: string;
  reason: string;
  reasonData?: string;
  timestamp: string;
}

/** Amazon CloudWatch User Guide, "Alarm events and EventBridge": a metric math alarm's state change. */
export function alarmStateChange(
  base: Envelope,
  alarm: {
    alarmArn: string;
    alarmName: string;
    configuration: { description: string; metrics: Json[] };
    state: AlarmStateValue;
    previousState: AlarmStateValue;
  },
): Json {
  return envelope(base, 'aws.cloudwatch', 'CloudWatch Alarm State Change', [alarm.alarmArn], {
    alarmName: alarm.alarmName,
    configuration: alarm.configuration,
    previousState: alarm.previousState,
    state: alarm.state,
  });
}

export type RdsDetailType =
  | 'RDS DB Snapshot Event'
  | 'RDS DB Cluster Snapshot Event'
  | 'RDS DB Instance Event'
  | 'RDS DB Cluster Event';

const RDS_SOURCE_TYPES: Record<RdsDetailType, string> = {
  'RDS DB Snapshot Event': 'SNAPSHOT',
  'RDS DB Cluster Snapshot Event': 'CLUSTER_SNAPSHOT',
  'RDS DB Instance Event': 'DB_INSTANCE',
  'RDS DB Cluster Event': 'CLUSTER',
};

/**
 * Amazon RDS User Guide, "Overview of events for Amazon RDS" (the envelope and `detail`), with the ids and
 * messages of "Amazon RDS event categories and event messages". `Date` is to the millisecond there.
 */
export interface RdsChange {
  detailType: RdsDetailType;
  sourceArn: string;
  sourceIdentifier: string;
  category: string;
  eventId: string;
  message: string;
}

export function rdsEvent(base: Envelope, change: RdsChange): Json {
  return envelope(base, 'aws.rds', change.detailType, [change.sourceArn], {
    EventCategories: [change.category],
    SourceType: RDS_SOURCE_TYPES[change.detailType],
    SourceArn: change.sourceArn,
    Date: new Date(base.at).toISOString(),
    Message: change.message,
    SourceIdentifier: change.sourceIdentifier,
    EventID: change.eventId,
  });
}
