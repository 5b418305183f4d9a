import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TokenEntry } from '../../../lib/auth/token-document';
import { configSchema } from '../../../lib/config/schema';
import { Forbidden, InvalidInput, Unauthenticated } from '../../../lib/errors';
import {
  decidedMessage,
  parseInteraction,
  slackMapping,
  slackPrincipal,
  verifySlackRequest,
} from '../../../lib/notify/slack-interactions';

// Slack API docs, "Verifying requests from Slack": the worked example, signing secret, timestamp, body and signature.
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_TIMESTAMP = '1531420618';
const SLACK_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SLACK_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const AT_SLACK_TIMESTAMP = new Date(Number(SLACK_TIMESTAMP) * 1000);

const verify = (headers: Record<string, string>, body = SLACK_BODY, now = AT_SLACK_TIMESTAMP) =>
  verifySlackRequest({ rawBody: Buffer.from(body), headers, secret: SLACK_SECRET, now });

describe('verifySlackRequest', () => {
  const signed = { 'x-slack-request-timestamp': SLACK_TIMESTAMP, 'x-slack-signature': SLACK_SIGNATURE };

  it("accepts Slack's published example", () => {
    expect(() => verify(signed)).not.toThrow();
  });

  it('refuses the example with one byte of the body changed', () => {
    expect(() => verify(signed, SLACK_BODY.replace('roadrunner', 'roadrunnex'))).toThrow(
      new Unauthenticated('X-Slack-Signature does not match: the body was changed or signed with another secret'),
    );
  });

  it('accepts a timestamp five minutes old and refuses one a second older', () => {
    expect(() => verify(signed, SLACK_BODY, new Date(AT_SLACK_TIMESTAMP.getTime() + 300_000))).not.toThrow();
    expect(() => verify(signed, SLACK_BODY, new Date(AT_SLACK_TIMESTAMP.getTime() + 301_000))).toThrow(/tolerance/);
  });

  it('refuses a missing or malformed signature and a missing timestamp', () => {
    expect(() => verify({ 'x-slack-request-timestamp': SLACK_TIMESTAMP })).toThrow(/X-Slack-Signature is missing/);
    expect(() => verify({ ...signed, 'x-slack-signature': SLACK_SIGNATURE.replace('v0=', 'v1=') })).toThrow(
      /malformed/,
    );
    expect(() => verify({ 'x-slack-signature': SLACK_SIGNATURE })).toThrow(/X-Slack-Request-Timestamp/);
  });

  it('refuses a signature made with another secret', () => {
    const other = createHmac('sha256', 'another-secret').update(`v0:${SLACK_TIMESTAMP}:${SLACK_BODY}`).digest('hex');
    expect(() => verify({ ...signed, 'x-slack-signature': `v0=${other}` })).toThrow(/does not match/);
  });
});

describe('parseInteraction', () => {
  const payload = {
    type: 'block_actions',
    user: { id: 'U012AB3CD' },
    actions: [{ action_id: 'slipway.approve', value: 'dep-01J9ZK4V7Q' }],
    response_url: 'https://hooks.slack.com/actions/T0SLIPWAY/1/abc',
  };
  const form = (value: unknown) => Buffer.from(new URLSearchParams({ payload: JSON.stringify(value) }).toString());

  it('reads the form-encoded payload', () => {
    expect(parseInteraction(form(payload))).toEqual(payload);
  });

  it('names the field that is wrong', () => {
    expect(() => parseInteraction(Buffer.from('token=x'))).toThrow(
      new InvalidInput('body.payload: is required (a form-encoded interaction payload)'),
    );
    expect(() => parseInteraction(Buffer.from('payload=%7B'))).toThrow('body.payload: is not valid JSON');
    expect(() =>
      parseInteraction(form({ ...payload, actions: [{ action_id: 'slipway.deploy', value: 'dep-1' }] })),
    ).toThrow(/^body\.payload\.actions\.0\.action_id: /);
    expect(() => parseInteraction(form({ ...payload, user: { id: 'bob' } }))).toThrow(
      'body.payload.user.id: expected a Slack user id such as U012AB3CD',
    );
  });
});

describe('slackMapping and slackPrincipal', () => {
  const sha256 = 'a'.repeat(64);
  const entries: TokenEntry[] = [
    { name: 'bob', sha256, roles: ['approver'], apps: ['shop'] },
    { name: 'vera', sha256, roles: ['viewer'] },
  ];
  const maps = {
    approvers: { U0BOB: 'bob', U0VERA: 'vera', U0GONE: 'gone' },
    approversByEmail: { 'alice@example.com': 'bob' },
  };
  const principalOf = async (user: string) => slackPrincipal(user, await slackMapping(user, maps, undefined), entries);

  it("gives a mapped user the token's roles and scope", async () => {
    await expect(principalOf('U0BOB')).resolves.toEqual({
      name: 'bob',
      roles: ['approver'],
      scope: { apps: ['shop'] },
    });
  });

  it('refuses an unmapped user, a user mapped to no token, and a token without the approve permission', async () => {
    await expect(principalOf('U0EVE')).rejects.toThrow(
      new Forbidden('Slack user U0EVE is not mapped to a Slipway principal (notifications.slack.approvers)'),
    );
    await expect(principalOf('U0GONE')).rejects.toThrow(/which no token in the tokens secret names/);
    await expect(principalOf('U0VERA')).rejects.toThrow(
      'vera (Slack user U0VERA) may not approve: roles viewer do not grant approve',
    );
  });

  it('looks a user missing from approvers up by the e-mail Slack confirmed, and only then', async () => {
    // Given a users.info that knows alice's e-mail, and one that cannot be reached
    const looked: string[] = [];
    const userEmail = async (user: string) => {
      looked.push(user);
      return user === 'U0ALICE'
        ? { ok: true as const, email: 'alice@example.com' }
        : { ok: false as const, reason: 'users.info did not answer within 1000 ms' };
    };

    // When users are mapped, then the id map wins without a look-up, the e-mail maps alice, and a failure refuses
    await expect(slackMapping('U0BOB', maps, userEmail)).resolves.toEqual({ name: 'bob' });
    await expect(slackMapping('U0ALICE', maps, userEmail)).resolves.toEqual({
      name: 'bob',
      email: 'alice@example.com',
    });
    await expect(slackMapping('U0EVE', maps, userEmail)).rejects.toThrow(
      new Forbidden(
        'Slack user U0EVE is not in notifications.slack.approvers, and users.info did not answer within 1000 ms',
      ),
    );
    expect(looked).toEqual(['U0ALICE', 'U0EVE']);
  });
});

describe('notifications.slack in config', () => {
  const withSlack = (slack: Record<string, unknown>) =>
    configSchema.safeParse({ auth: { tokensSecret: 'slipway/api-tokens' }, notifications: { slack } });

  it('refuses approversByEmail without a bot token to read e-mails with, naming the key', () => {
    // Given e-mail approvers, with and without the bot token's secret
    const approversByEmail = { 'carol@example.com': 'carol' };

    // When each is read, then only the one with the bot token holds
    expect(withSlack({ signingSecret: 's', approversByEmail, botTokenSecret: 'slipway/slack-bot' }).success).toBe(true);
    expect(withSlack({ signingSecret: 's', approversByEmail }).error?.issues).toEqual([
      expect.objectContaining({
        path: ['notifications', 'slack', 'approversByEmail'],
        message: 'needs notifications.slack.botTokenSecret: e-mails are read through Slack users.info',
      }),
    ]);
  });
});

describe('decidedMessage', () => {
  const blocks = [{ type: 'header' }, { type: 'actions', elements: [] }];
  const base = { blocks, slackUser: 'U0BOB', principal: 'bob', at: '2026-11-23T10:00:00.000Z' };

  it('keeps the buttons while more approvals are needed, and removes them once decided', () => {
    const waiting = decidedMessage({
      ...base,
      decision: 'approve',
      state: 'PENDING_APPROVAL',
      approvals: { count: 1, required: 2 },
    });
    expect(waiting.blocks.map((block) => (block as { type: string }).type)).toEqual(['header', 'actions', 'context']);
    expect(waiting.text).toBe(
      '✅ Approved by <@U0BOB> (bob) at 2026-11-23T10:00:00.000Z: 1 of 2, now PENDING_APPROVAL',
    );
    const rejected = decidedMessage({
      ...base,
      decision: 'reject',
      state: 'CANCELLED',
      approvals: { count: 0, required: 1 },
    });
    expect(rejected).toMatchObject({
      replace_original: true,
      text: '🚫 Rejected by <@U0BOB> (bob) at 2026-11-23T10:00:00.000Z',
    });
    expect(rejected.blocks.map((block) => (block as { type: string }).type)).toEqual(['header', 'context']);
  });
});

describe('the sample interaction (events/http.slack-interactions.json)', () => {
  it('is signed with the samples secret and reads as an Approve press', () => {
    // Given the sample Slack posts for an Approve press
    const sample = JSON.parse(readFileSync('events/http.slack-interactions.json', 'utf8'));
    const rawBody = Buffer.from(sample.body);
    const now = new Date(Number(sample.headers['x-slack-request-timestamp']) * 1000);

    // When it is verified and parsed, then it holds and names the user, the button and the deployment
    expect(() =>
      verifySlackRequest({ rawBody, headers: sample.headers, secret: 'slack-signing-secret-for-samples', now }),
    ).not.toThrow();
    expect(parseInteraction(rawBody)).toMatchObject({
      user: { id: 'U012AB3CD' },
      actions: [{ action_id: 'slipway.approve', value: 'dep-00000000-0000-4000-8000-000000000001' }],
    });
  });
});
