import type { AuditRecorder } from '../audit/trail';
import type { TokenSource } from '../auth/token-source';
import { createClient } from '../aws/clients';
import { clients, perRegion } from '../aws/traced-clients';
import { Deployments } from '../deploy/deployments';
import { dynamoDbIdempotency, type Idempotency } from '../http/idempotency';
import { notificationPublisher } from '../notify/notifications';
import type { Publisher } from '../notify/publisher';
import { DeploymentStore } from '../store/deployments';
import { EnvironmentLocks } from '../store/locks';
import { runtime } from '.';
import { audit } from './audit';

/** What the deployment routes and event handlers are built from, once per container. */
export interface DeploymentRouteDeps {
  tokens: TokenSource;
  audit: AuditRecorder;
  deployments: Deployments;
  idempotency: Idempotency;
}

let cached: Deployments | undefined;

/** Repositories may live in another region than the control plane. */
export const ecrFor = perRegion(clients.ecr, createClient.ecr);

export function deployments(): Deployments {
  if (cached) return cached;
  const { env, config } = runtime();
  cached = new Deployments({
    config,
    stage: env.stage,
    store: new DeploymentStore(clients.documents(), env.stateTable),
    locks: new EnvironmentLocks(clients.documents(), env.stateTable),
    ecs: clients.ecs(),
    ecrFor,
    publisher: publisher(),
    audit: audit(),
  });
  return cached;
}

let cachedPublisher: Publisher | undefined;

/** Every notification goes to the SNS topic and, when a webhook secret is configured, to Slack. */
export function publisher(): Publisher {
  if (cachedPublisher) return cachedPublisher;
  const { env, config } = runtime();
  cachedPublisher = notificationPublisher({
    sns: clients.sns(),
    topicArn: env.notificationsTopicArn,
    secretsManager: clients.secretsManager(),
    slackWebhookSecret: config.notifications.slackWebhookSecret,
  });
  return cachedPublisher;
}

let cachedIdempotency: Idempotency | undefined;

export function idempotency(): Idempotency {
  cachedIdempotency ??= dynamoDbIdempotency(clients.dynamodb(), runtime().env.stateTable);
  return cachedIdempotency;
}

export function deploymentRouteDeps(): DeploymentRouteDeps {
  const { tokens } = runtime();
  return {
    tokens,
    audit: audit(),
    deployments: deployments(),
    idempotency: idempotency(),
  };
}
