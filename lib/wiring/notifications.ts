import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { createSnsClient } from '../aws/clients/sns';
import { shared } from '../aws/shared-clients';
import { notificationPublisher } from '../notify/notifications';
import type { Publisher } from '../notify/publisher';
import { config } from './config';
import { environment } from './environment';

let cached: Publisher | undefined;

/** Every notification goes to the SNS topic and, when a webhook secret is configured, to Slack. */
export function publisher(): Publisher {
  cached ??= notificationPublisher({
    sns: shared(createSnsClient),
    topicArn: environment().notificationsTopicArn,
    secretsManager: shared(createSecretsManagerClient),
    slackWebhookSecret: config().notifications.slackWebhookSecret,
    slackApprovalButtons: config().notifications.slack !== undefined,
  });
  return cached;
}
