import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { CachedRead, readSecretString } from '../aws/secrets';
import { shared } from '../aws/shared-clients';
import type { Deployments } from '../deploy/deployments';
import { deploymentCancellations } from './deployment-cancellations';
import { deploymentApprovals } from './deployment-rollouts';

const SECRET_MAX_AGE_SECONDS = 60;

/** A Slack app secret (the signing secret, the bot token), read again a minute after it was last read, so a rotation takes hold. */
export function slackSecret(secretId: string, what: string): () => Promise<string> {
  const client = shared(createSecretsManagerClient);
  const cached = new CachedRead<string>(SECRET_MAX_AGE_SECONDS);
  return () => cached.current() ?? cached.keep(readSecretString(client, secretId, what));
}

/** What a Slack press decides through: the same approvals and cancellations as the API's routes. */
export function slackDecisions(): Pick<Deployments, 'get' | 'approve' | 'cancel'> {
  const approvals = deploymentApprovals();
  return { get: approvals.get, approve: approvals.approve, cancel: deploymentCancellations().cancel };
}
