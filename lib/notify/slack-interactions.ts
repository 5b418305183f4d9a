import * as z from 'zod/mini';
import '../errors/validation';
import { hmacSha256, sameDigest } from '../auth/hmac';
import { type Principal, rolesGrant } from '../auth/principal';
import type { TokenEntry } from '../auth/token-document';
import { principalOf } from '../auth/tokens';
import { ConfigError, Forbidden, InvalidInput, Unauthenticated } from '../errors';
import { APPROVE_ACTION, escapeMrkdwn, REJECT_ACTION } from './slack';
import type { SlackEmail } from './slack-web-api';

/** Approve and Reject buttons pressed in Slack, as `POST /v1/slack/interactions` receives them. */

export { APPROVE_ACTION, REJECT_ACTION };

// Slack API docs, "Verifying requests from Slack": refuse a timestamp more than five minutes from now.
export const SLACK_TOLERANCE_SECONDS = 300;
const UNIX_SECONDS = /^[0-9]{1,12}$/;

/**
 * Slack's v0 signature: `v0=` and the hex HMAC-SHA256, keyed with the signing secret, of
 * `v0:{X-Slack-Request-Timestamp}:{raw body}` (Slack API docs, "Verifying requests from Slack").
 */
export function verifySlackRequest(input: {
  rawBody: Buffer;
  headers: Record<string, string>;
  secret: string;
  now: Date;
}): void {
  if (input.secret === '') throw new ConfigError('the Slack signing secret is empty');
  const timestamp = input.headers['x-slack-request-timestamp'];
  const signature = input.headers['x-slack-signature'];
  if (timestamp === undefined || !UNIX_SECONDS.test(timestamp)) {
    throw new Unauthenticated('X-Slack-Request-Timestamp is missing or not unix seconds');
  }
  if (Math.abs(input.now.getTime() / 1000 - Number(timestamp)) > SLACK_TOLERANCE_SECONDS) {
    throw new Unauthenticated(
      `X-Slack-Request-Timestamp is outside the ${SLACK_TOLERANCE_SECONDS} s tolerance; the request may be a replay`,
    );
  }
  const hex = /^v0=([0-9a-f]{64})$/i.exec(signature ?? '')?.[1];
  if (!hex) throw new Unauthenticated('X-Slack-Signature is missing or malformed: expected v0=<64 hex digits>');
  if (!sameDigest(hmacSha256(input.secret, `v0:${timestamp}:`, input.rawBody), hex)) {
    throw new Unauthenticated('X-Slack-Signature does not match: the body was changed or signed with another secret');
  }
}

const slackUserId = z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user id such as U012AB3CD'));

export const interactionSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: slackUserId }),
  actions: z
    .array(
      z.object({
        action_id: z.enum([APPROVE_ACTION, REJECT_ACTION]),
        value: z.string().check(z.regex(/^dep-[A-Za-z0-9-]{1,64}$/, 'expected a deployment id')),
      }),
    )
    .check(z.length(1)),
  response_url: z.url({ protocol: /^https?$/ }),
  channel: z.optional(z.object({ id: z.string() })),
  message: z.optional(z.object({ ts: z.string(), blocks: z.optional(z.array(z.unknown())) })),
});
export type Interaction = z.infer<typeof interactionSchema>;

/** The form-encoded body's `payload` field, parsed as JSON and checked; a 400 names the field that is wrong. */
export function parseInteraction(rawBody: Buffer): Interaction {
  const payload = new URLSearchParams(rawBody.toString('utf8')).get('payload');
  if (payload === null) {
    throw new InvalidInput('body.payload: is required (a form-encoded interaction payload)', {
      details: [{ location: 'body', field: 'payload', message: 'is required' }],
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (error) {
    throw new InvalidInput('body.payload: is not valid JSON', {
      cause: error,
      details: [{ location: 'body', field: 'payload', message: 'is not valid JSON' }],
    });
  }
  const result = interactionSchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    location: 'body',
    field: ['payload', ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new InvalidInput(`body.${issues[0]?.field}: ${issues[0]?.message}`, { details: issues });
}

/** The token a Slack user acts as, and the e-mail it was found by when it was not found by the user id. */
export interface SlackMapping {
  name: string;
  email?: string;
}

/**
 * Who config says a Slack user is: `approvers` by user id first; else, when a bot token can read it
 * (`userEmail`), `approversByEmail` by the e-mail Slack has confirmed for the user. Not found is refused.
 */
export async function slackMapping(
  slackUser: string,
  maps: { approvers: Readonly<Record<string, string>>; approversByEmail?: Readonly<Record<string, string>> },
  userEmail: ((user: string) => Promise<SlackEmail>) | undefined,
): Promise<SlackMapping> {
  const name = maps.approvers[slackUser];
  if (name !== undefined) return { name };
  if (!userEmail) {
    throw new Forbidden(`Slack user ${slackUser} is not mapped to a Slipway principal (notifications.slack.approvers)`);
  }
  const found = await userEmail(slackUser);
  if (!found.ok) {
    throw new Forbidden(`Slack user ${slackUser} is not in notifications.slack.approvers, and ${found.reason}`);
  }
  // E-mail addresses are compared without case: Slack keeps the case a user typed.
  const byEmail = Object.entries(maps.approversByEmail ?? {}).find(
    ([email]) => email.toLowerCase() === found.email,
  )?.[1];
  if (byEmail === undefined) {
    throw new Forbidden(
      `Slack user ${slackUser} (${found.email}) is not mapped to a Slipway principal (notifications.slack.approvers, approversByEmail)`,
    );
  }
  return { name: byEmail, email: found.email };
}

/**
 * The principal a Slack user acts as: the mapped token's roles and scope from the tokens secret. A token that is
 * gone, or lacks the approve permission, is refused here; the deployment's scope and the requester rule are
 * checked where every approval is.
 */
export function slackPrincipal(
  slackUser: string,
  mapping: SlackMapping,
  entries: ReadonlyArray<TokenEntry>,
): Principal {
  const { name } = mapping;
  const entry = entries.find((candidate) => candidate.name === name);
  if (!entry) {
    throw new Forbidden(`Slack user ${slackUser} maps to ${name}, which no token in the tokens secret names`);
  }
  const principal = principalOf(entry);
  if (!rolesGrant(principal.roles, 'approve')) {
    throw new Forbidden(
      `${name} (Slack user ${slackUser}) may not approve: roles ${principal.roles.join(', ')} do not grant approve`,
    );
  }
  return principal;
}

/** What the message says once decided: the original blocks, the buttons gone unless more approvals are needed. */
export function decidedMessage(input: {
  blocks: unknown[] | undefined;
  decision: 'approve' | 'reject';
  slackUser: string;
  principal: string;
  at: string;
  state: string;
  approvals: { count: number; required: number };
}) {
  const waiting = input.state === 'PENDING_APPROVAL';
  const kept = (input.blocks ?? []).filter((block) => waiting || (block as { type?: unknown })?.type !== 'actions');
  const what =
    input.decision === 'reject'
      ? `🚫 Rejected by <@${input.slackUser}> (${input.principal}) at ${input.at}`
      : `✅ Approved by <@${input.slackUser}> (${input.principal}) at ${input.at}: ${input.approvals.count} of ${input.approvals.required}, now ${input.state}`;
  // Slack API docs, "Handling user interaction": replace_original through response_url updates the message in place.
  return {
    replace_original: true,
    text: what,
    blocks: [...kept, { type: 'context', elements: [{ type: 'mrkdwn', text: what }] }],
  };
}

/**
 * A refusal, told only to the presser, beside the message and without changing it (Slack API docs, "Handling user
 * interaction": `replace_original: false`, `response_type: ephemeral`). A response_url post goes into a thread
 * only as an in_channel message with `thread_ts` ("Publishing responses in thread"), never as an ephemeral one.
 */
export function refusalMessage(reason: string) {
  return { replace_original: false, response_type: 'ephemeral', text: `Not done: ${escapeMrkdwn(reason)}` };
}

/** A refusal about the deployment itself (decided, expired, unknown), said in the message's thread for all to see. */
export function threadRefusal(slackUser: string, reason: string): string {
  return `Not done for <@${slackUser}>: ${escapeMrkdwn(reason)}`;
}
