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
  type Interaction,
  parseInteraction,
  refusalMessage,
  slackMapping,
  slackPrincipal,
  threadRefusal,
  verifySlackRequest,
} from '../../lib/notify/slack-interactions';
import { type SlackWebApi, slackWebApi } from '../../lib/notify/slack-web-api';
import { audit } from '../../lib/wiring/audit';
import { config } from '../../lib/wiring/config';
import { slackDecisions, slackSecret } from '../../lib/wiring/slack-interactions';
import { tokens } from '../../lib/wiring/tokens';

export interface SlackInteractionsDeps {
  audit: AuditRecorder;
  /** Undefined when config has no notifications.slack section: the route then does not exist. */
  slack:
    | {
        signingSecret: () => Promise<string>;
        approvers: Readonly<Record<string, string>>;
        approversByEmail?: Readonly<Record<string, string>>;
        /** With notifications.slack.botTokenSecret only. */
        web?: SlackWebApi;
      }
    | undefined;
  tokens: TokenSource;
  deployments: Pick<Deployments, 'get' | 'approve' | 'cancel'>;
  respond: (responseUrl: string, message: unknown) => Promise<unknown>;
  now?: () => Date;
}

/**
 * `POST /v1/slack/interactions`: Approve and Reject pressed on a deployment's Slack message. Signed by Slack,
 * not by a bearer token; the Slack user acts as the principal config maps them to, through the same approval
 * and cancellation as `slipway approve` and `slipway cancel`.
 *
 * Slack shows the presser nothing of the HTTP answer but a failure, and wants an HTTP 200 within three seconds
 * (Slack API docs, "Handling user interaction in your Slack apps": "Acknowledgment response"); what the presser
 * is told goes through response_url. So a press that is signed and well formed is always answered 200, a refusal
 * included, and the refusal is said through response_url (or the thread) and audited as denied. A bad signature,
 * an old timestamp or a malformed payload is not a person's press: it stays a 401 or 400.
 */
export function makeHandler(deps: SlackInteractionsDeps) {
  const now = deps.now ?? (() => new Date());
  return auditedRoute(
    routes.slackInteractions,
    { audit: deps.audit },
    async ({ rawBody, headers, note, authenticated }) => {
      const slack = deps.slack;
      if (!slack) throw new NotFound('Slack interactions are not configured (config has no notifications.slack)');
      // The signature covers the bytes as sent: checked before anything in them is read.
      verifySlackRequest({ rawBody, headers, secret: await slack.signingSecret(), now: now() });
      authenticated();
      const interaction = parseInteraction(rawBody);
      const slackUser = interaction.user.id;
      const [action] = interaction.actions;
      const id = action?.value ?? '';
      const decision = action?.action_id === APPROVE_ACTION ? 'approve' : 'reject';
      note({ actor: `slack:${slackUser}`, target: { slackUser, id, decision } });
      try {
        const mapping = await slackMapping(slackUser, slack, slack.web?.userEmail);
        note({
          actor: mapping.name,
          target: { principal: mapping.name, ...(mapping.email ? { email: mapping.email } : {}) },
        });
        const principal = slackPrincipal(slackUser, mapping, await deps.tokens());
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
        // A refusal (not mapped, no role, out of scope, the requester, unknown, already decided) is the presser's.
        if (!(error instanceof SlipwayError) || error.status >= 500) throw error;
        note({ refused: { code: error.code, detail: error.message } });
        await tellRefusal(slack.web, interaction, error);
        return { status: 200, body: { refused: { code: error.code, message: error.message } } };
      }
    },
  );

  /**
   * Who may not act is told alone (ephemeral); a deployment that can no longer be decided is said in the
   * message's thread when the bot token can post there, else told to the presser alone like the rest.
   */
  async function tellRefusal(web: SlackWebApi | undefined, interaction: Interaction, error: SlipwayError) {
    const channel = interaction.channel?.id;
    const threadTs = interaction.message?.ts;
    const aboutTheDeployment = error.status !== 401 && error.status !== 403;
    if (web && aboutTheDeployment && channel && threadTs) {
      const text = threadRefusal(interaction.user.id, error.message);
      if (await web.postInThread({ channel, threadTs, text })) return;
    }
    await deps.respond(interaction.response_url, refusalMessage(error.message));
  }
}

function defaultDeps(): SlackInteractionsDeps {
  const { slack } = config().notifications;
  return {
    audit: audit(),
    slack: slack
      ? {
          signingSecret: slackSecret(slack.signingSecret, 'the Slack signing secret'),
          approvers: slack.approvers,
          approversByEmail: slack.approversByEmail,
          ...(slack.botTokenSecret
            ? { web: slackWebApi({ token: slackSecret(slack.botTokenSecret, 'the Slack bot token') }) }
            : {}),
        }
      : undefined,
    tokens: tokens(),
    deployments: slackDecisions(),
    respond: slackResponder(),
  };
}

export const handler = makeHandler(defaultDeps());
