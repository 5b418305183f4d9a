import type { AuditRecorder } from '../../lib/audit/trail';
import { requireScope } from '../../lib/auth/scope';
import type { TokenSource } from '../../lib/auth/token-source';
import type { Deployments } from '../../lib/deploy/deployments';
import { NotFound, SlipwayError } from '../../lib/errors';
import { requesterOf } from '../../lib/http/deployment-requests';
import * as routes from '../../lib/http/no-input-route-specs';
import { auditedRoute } from '../../lib/http/route-chain';
import { slackResponder } from '../../lib/notify/slack';
import {
  APPROVE_ACTION,
  decidedMessage,
  parseInteraction,
  refusalMessage,
  slackPrincipal,
  verifySlackRequest,
} from '../../lib/notify/slack-interactions';
import { audit } from '../../lib/wiring/audit';
import { config } from '../../lib/wiring/config';
import { slackDecisions, slackSigningSecret } from '../../lib/wiring/slack-interactions';
import { tokens } from '../../lib/wiring/tokens';

export interface SlackInteractionsDeps {
  audit: AuditRecorder;
  /** Undefined when config has no notifications.slack section: the route then does not exist. */
  slack: { signingSecret: () => Promise<string>; approvers: Readonly<Record<string, string>> } | undefined;
  tokens: TokenSource;
  deployments: Pick<Deployments, 'get' | 'approve' | 'cancel'>;
  respond: (responseUrl: string, message: unknown) => Promise<unknown>;
  now?: () => Date;
}

/**
 * `POST /v1/slack/interactions`: Approve and Reject pressed on a deployment's Slack message. Signed by Slack,
 * not by a bearer token; the Slack user acts as the principal config maps them to, through the same approval
 * and cancellation as `slipway approve` and `slipway cancel`.
 */
export function makeHandler(deps: SlackInteractionsDeps) {
  const now = deps.now ?? (() => new Date());
  return auditedRoute(
    routes.slackInteractions,
    { audit: deps.audit },
    async ({ rawBody, headers, note, authenticated }) => {
      if (!deps.slack) throw new NotFound('Slack interactions are not configured (config has no notifications.slack)');
      // The signature covers the bytes as sent: checked before anything in them is read.
      verifySlackRequest({ rawBody, headers, secret: await deps.slack.signingSecret(), now: now() });
      authenticated();
      const interaction = parseInteraction(rawBody);
      const slackUser = interaction.user.id;
      const [action] = interaction.actions;
      const id = action?.value ?? '';
      const decision = action?.action_id === APPROVE_ACTION ? 'approve' : 'reject';
      note({ actor: `slack:${slackUser}`, target: { slackUser, id, decision } });
      try {
        const principal = slackPrincipal(slackUser, deps.slack.approvers, await deps.tokens());
        note({ actor: principal.name, target: { principal: principal.name } });
        requireScope(principal, await deps.deployments.get(id));
        const by = requesterOf(principal);
        const deployment =
          decision === 'approve' ? await deps.deployments.approve(id, by) : await deps.deployments.cancel(id, by);
        await deps.respond(
          interaction.response_url,
          decidedMessage({
            blocks: interaction.message?.blocks,
            decision,
            slackUser,
            principal: principal.name,
            at: now().toISOString(),
            state: deployment.state,
            approvals: { count: deployment.approvals.by.length, required: deployment.approvals.required },
          }),
        );
        return { status: 200, body: { deployment } };
      } catch (error) {
        // A refusal (not mapped, no role, out of scope, the requester, already decided) is told to the clicker.
        if (error instanceof SlipwayError && error.status < 500) {
          note({ denied: true });
          await deps.respond(interaction.response_url, refusalMessage(error.message, interaction.message?.ts));
        }
        throw error;
      }
    },
  );
}

function defaultDeps(): SlackInteractionsDeps {
  const { slack } = config().notifications;
  return {
    audit: audit(),
    slack: slack ? { signingSecret: slackSigningSecret(slack.signingSecret), approvers: slack.approvers } : undefined,
    tokens: tokens(),
    deployments: slackDecisions(),
    respond: slackResponder(),
  };
}

export const handler = makeHandler(defaultDeps());
