import { slackWebApi } from '../../../lib/notify/slack-web-api';

/** A fetch that answers users.info with `user` (Slack API docs, users.info: HTTP 200, `ok`, the user object). */
function answering(body: unknown) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetchImpl = (async (url: URL | string, init?: RequestInit) => {
    calls.push({ url: String(url), init });
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { calls, api: slackWebApi({ token: async () => 'xoxb-unit', fetch: fetchImpl }) };
}

const user = (fields: Record<string, unknown>) => ({
  ok: true,
  user: { id: 'U0CAROL', is_email_confirmed: true, profile: { email: 'Carol@Example.com' }, ...fields },
});

describe('slackWebApi.userEmail', () => {
  it("asks Slack's users.info for the user with the bot token, and gives the confirmed e-mail in lower case", async () => {
    // Given Slack knows carol with a confirmed e-mail
    const { calls, api } = answering(user({}));

    // When her e-mail is asked for
    const found = await api.userEmail('U0CAROL');

    // Then it is hers, asked of Slack's own Web API with the bot token
    expect(found).toEqual({ ok: true, email: 'carol@example.com' });
    expect(calls[0]?.url).toBe('https://slack.com/api/users.info?user=U0CAROL');
    expect(new Headers(calls[0]?.init?.headers).get('authorization')).toBe('Bearer xoxb-unit');
  });

  it.each([
    ['a deactivated user', user({ deleted: true }), 'Slack user U0CAROL is deactivated or a bot'],
    ['a bot', user({ is_bot: true }), 'Slack user U0CAROL is deactivated or a bot'],
    [
      'a user whose e-mail the token may not read',
      user({ profile: {} }),
      'Slack shows no e-mail for U0CAROL (the bot token needs users:read.email)',
    ],
    ['a user without is_email_confirmed', user({ is_email_confirmed: undefined }), 'has not confirmed their e-mail'],
    ['an answer without a user', { ok: true }, 'users.info answered no user'],
  ])('gives no e-mail for %s', async (_what, body, reason) => {
    // Given Slack's answer, when the e-mail is asked for, then there is none, and the reason says why
    const found = await answering(body).api.userEmail('U0CAROL');
    expect(found).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });
});
