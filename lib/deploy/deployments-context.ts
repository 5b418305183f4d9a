import { randomUUID } from 'node:crypto';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { AuditRecorder } from '../audit/trail';
import type { Operation, Place } from '../aws/account-credentials';
import type { AppConfig, EnvironmentConfig, SlipwayConfig } from '../config/schema';
import { NotFound } from '../errors';
import type { Publisher } from '../notify/publisher';
import type { DeploymentStore } from '../store/deployments';
import type { EnvironmentLocks } from '../store/locks';
import type { DeploymentRecord } from './records';

/**
 * What every part of the deploy use case shares: its ports, its clock and ids, the environment a
 * request names, and the notification each change of a deployment sends.
 */

export interface DeploymentsDeps {
  config: SlipwayConfig;
  /** Names the alarms generated from the health checks, which UpdateService gets with the configured ones. */
  stage: string;
  store: DeploymentStore;
  locks: EnvironmentLocks;
  /** The ECS client where an environment's service is, as the operation's session in another account. */
  ecsFor: EcsFor;
  ecrFor: EcrFor;
  publisher: Publisher;
  /** Where deployments Slipway starts or ends by itself (releases, alarms, the reconciler) are recorded. */
  audit: AuditRecorder;
  now?: () => Date;
  newId?: () => string;
}

/** The ECS client of a place (the control plane's own account and region where it names neither) for an operation. */
export type EcsFor = (place: Place, operation: Operation) => ECSClient;

/**
 * The ECR client of a region: with the function's own credentials, or as the operation's session in an
 * account config names, when the repository is that account's.
 */
export type EcrFor = (region: string, session?: { account: string; operation: Operation }) => ECRClient;

/** A context holding the ports `K` only: what a part of the use case runs on, wired without the others' clients. */
export interface ContextWith<K extends keyof DeploymentsDeps> {
  deps: Pick<DeploymentsDeps, K>;
  now: () => Date;
  newId: () => string;
}

export type DeploymentsContext = ContextWith<keyof DeploymentsDeps>;

/** Every port but the registry: rollouts of a known image, approvals and settlement resolve no tag. */
export type RolloutContext = ContextWith<Exclude<keyof DeploymentsDeps, 'ecrFor'>>;

/** What ends a deployment that never reached ECS (cancelled, expired): its record, its lock, its notification. */
export type RecordContext = ContextWith<'store' | 'locks' | 'publisher'>;

export function deploymentsContext<K extends keyof DeploymentsDeps>(
  deps: Pick<DeploymentsDeps, K | 'now' | 'newId'>,
): ContextWith<K> {
  return {
    deps,
    now: deps.now ?? (() => new Date()),
    newId: deps.newId ?? (() => `dep-${randomUUID()}`),
  };
}

/** An app environment config names, or NotFound saying which of the two it does not. */
export function environmentOf(
  config: Pick<SlipwayConfig, 'apps'>,
  appName: string,
  environment: string,
): { app: AppConfig; env: EnvironmentConfig } {
  const app = Object.hasOwn(config.apps, appName) ? config.apps[appName] : undefined;
  if (!app) throw new NotFound(`no app named ${appName}`, { details: { app: appName } });
  const env = Object.hasOwn(app.environments, environment) ? app.environments[environment] : undefined;
  if (!env) {
    throw new NotFound(`app ${appName} has no environment named ${environment}`, {
      details: { app: appName, environment, environments: Object.keys(app.environments) },
    });
  }
  return { app, env };
}

export async function notify(
  ctx: ContextWith<'publisher'>,
  record: DeploymentRecord,
  type = 'deployment.state',
): Promise<void> {
  const { app, environment, state, kind } = record;
  const from = record.from.digest ?? record.from.taskDefinitionArn ?? '?';
  const to = record.to.digest ?? record.to.taskDefinitionArn ?? '?';
  await ctx.deps.publisher.publish({
    subject: `Slipway: ${app}/${environment} ${kind} ${state}`,
    type,
    app,
    environment,
    state,
    body: { deployment: summary(record), from, to },
  });
}

/** The fields of a record a notification or a listing shows. */
export function summary(record: DeploymentRecord) {
  return {
    id: record.id,
    app: record.app,
    environment: record.environment,
    kind: record.kind,
    state: record.state,
    requestedBy: record.requestedBy.name,
    ...(record.reason ? { reason: record.reason } : {}),
    cluster: record.cluster,
    service: record.service,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    fromDigest: record.from.digest ?? null,
    toDigest: record.to.digest ?? null,
    ...(record.ecsDeploymentId ? { ecsDeploymentId: record.ecsDeploymentId } : {}),
    ...(record.failure ? { failureReason: record.failure.reason } : {}),
    ...(record.ecsUnreachable ? { ecsUnreachable: record.ecsUnreachable.reason } : {}),
  };
}
