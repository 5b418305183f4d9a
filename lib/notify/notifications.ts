import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import { CachedRead, readSecretString } from '../aws/secrets';
import { fanOut } from './fanout';
import { type Publisher, snsPublisher } from './publisher';
import { slackPublisher } from './slack';

const SLACK_URL_MAX_AGE_SECONDS = 300;

/** Every notification goes to the SNS topic and, when a webhook secret is configured, to Slack. */
export function notificationPublisher(deps: {
  sns: SNSClient;
  topicArn: string | undefined;
  secretsManager: SecretsManagerClient;
  /** The secret (by name or ARN) holding the Slack webhook URL. */
  slackWebhookSecret: string | undefined;
  /** notifications.slack is configured: a deployment waiting for approval carries Approve and Reject. */
  slackApprovalButtons?: boolean;
}): Publisher {
  const secretId = deps.slackWebhookSecret;
  const cached = new CachedRead<string>(SLACK_URL_MAX_AGE_SECONDS);
  // The webhook URL is itself a credential, which readSecretString keeps out of the logs.
  const slackUrl = async () =>
    secretId
      ? (cached.current() ?? cached.keep(readSecretString(deps.secretsManager, secretId, 'the Slack webhook URL')))
      : undefined;
  return fanOut(
    snsPublisher(deps.sns, deps.topicArn),
    slackPublisher(slackUrl, { approvalButtons: deps.slackApprovalButtons ?? false }),
  );
}
