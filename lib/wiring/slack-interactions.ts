import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { CachedRead, readSecretString } from '../aws/secrets';
import { shared } from '../aws/shared-clients';
import { slackResponder } from '../notify/slack';
import { config } from './config';
import { deploymentCancellations } from './deployment-cancellations';
import { deploymentApprovals } from './deployment-rollouts';
import { tokens } from './tokens';

const SIGNING_SECRET_MAX_AGE_SECONDS = 60;

/** The Slack app's signing secret, read again a minute after it was last read, so a rotation takes hold. */
function signingSecret(secretId: string): () => Promise<string> {
  const client = shared(createSecretsManagerClient);
  const cached = new CachedRead<string>(SIGNING_SECRET_MAX_AGE_SECONDS);
  return () => cached.current() ?? cached.keep(readSecretString(client, secretId, 'the Slack signing secret'));
}

/** What the Slack interactions route acts through: the same approvals and cancellations as the API's routes. */
export function slackInteractionDeps() {
  const slack = config().notifications.slack;
  const approvals = deploymentApprovals();
  const cancellations = deploymentCancellations();
  return {
    slack: slack ? { signingSecret: signingSecret(slack.signingSecret), approvers: slack.approvers } : undefined,
    tokens: tokens(),
    deployments: { get: approvals.get, approve: approvals.approve, cancel: cancellations.cancel },
    respond: slackResponder(),
  };
}
