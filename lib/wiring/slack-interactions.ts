import { slackResponder } from '../notify/slack';
import { config } from './config';
import { deploymentCancellations } from './deployment-cancellations';
import { deploymentApprovals } from './deployment-rollouts';
import { webhookSecret } from './releases';
import { tokens } from './tokens';

/** What the Slack interactions route acts through: the same approvals and cancellations as the API's routes. */
export function slackInteractionDeps() {
  const slack = config().notifications.slack;
  const approvals = deploymentApprovals();
  const cancellations = deploymentCancellations();
  return {
    slack: slack ? { signingSecret: webhookSecret(slack.signingSecret), approvers: slack.approvers } : undefined,
    tokens: tokens(),
    deployments: { get: approvals.get, approve: approvals.approve, cancel: cancellations.cancel },
    respond: slackResponder(),
  };
}
