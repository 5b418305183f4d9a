import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import { registerSecretValue } from '../observability';
import { fanOut } from './fanout';
import { type Publisher, snsPublisher } from './publisher';
import { slackPublisher } from './slack';

/** Every notification goes to the SNS topic and, when a webhook secret is configured, to Slack. */
export function notificationPublisher(deps: {
  sns: SNSClient;
  topicArn: string | undefined;
  secretsManager: SecretsManagerClient;
  /** The secret (by name or ARN) holding the Slack webhook URL. */
  slackWebhookSecret: string | undefined;
}): Publisher {
  const secrets = new SecretsProvider({ awsSdkV3Client: deps.secretsManager });
  const slackUrl = async () => {
    if (!deps.slackWebhookSecret) return undefined;
    const url = await secrets.get(deps.slackWebhookSecret, { maxAge: 300 });
    if (typeof url !== 'string') return undefined;
    // The webhook URL is itself a credential.
    registerSecretValue(url);
    return url;
  };
  return fanOut(snsPublisher(deps.sns, deps.topicArn), slackPublisher(slackUrl));
}
