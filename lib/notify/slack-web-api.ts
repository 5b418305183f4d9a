import * as z from 'zod/mini';
import { logger } from '../observability';

/**
 * The two Slack Web API methods the approval buttons use, with the app's bot token: users.info (a presser's
 * confirmed e-mail) and chat.postMessage (a refusal in the message's thread). Each call is short: Slack waits
 * three seconds for the whole answer to a press.
 */

export const SLACK_WEB_API = 'https://slack.com/api/';
const DEFAULT_TIMEOUT_MS = 1_000;

export interface SlackWebApiOptions {
  /** The bot token (xoxb-…), read when a call is made. */
  token: () => Promise<string>;
  /** Slack's own unless a test points it at a stand-in; never taken from config. */
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** A user's e-mail as Slack vouches for it, or why it cannot be had. */
export type SlackEmail = { ok: true; email: string } | { ok: false; reason: string };

export interface SlackWebApi {
  userEmail(user: string): Promise<SlackEmail>;
  /** Whether the reply was posted; a failure is the caller's to fall back from. */
  postInThread(input: { channel: string; threadTs: string; text: string }): Promise<boolean>;
}

// Slack API docs, "Using the Slack Web API": every answer is HTTP 200 with `ok`, and `error` names a failure.
const answerSchema = z.object({ ok: z.boolean(), error: z.optional(z.string()) });
// Slack API docs, users.info and the user object: profile.email needs users:read.email; is_email_confirmed.
const userSchema = z.object({
  user: z.object({
    deleted: z.optional(z.boolean()),
    is_bot: z.optional(z.boolean()),
    is_email_confirmed: z.optional(z.boolean()),
    profile: z.optional(z.object({ email: z.optional(z.string()) })),
  }),
});

type Called = { ok: true; body: unknown } | { ok: false; reason: string };

export function slackWebApi(options: SlackWebApiOptions): SlackWebApi {
  const fetchImpl = options.fetch ?? fetch;
  const baseUrl = options.baseUrl ?? SLACK_WEB_API;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const call = async (method: string, init: { query?: Record<string, string>; json?: unknown }): Promise<Called> => {
    const called = await attempt(method, init);
    if (!called.ok) logger.warn('slack web api call failed', { method, reason: called.reason });
    return called;
  };

  const attempt = async (method: string, init: { query?: Record<string, string>; json?: unknown }): Promise<Called> => {
    const url = new URL(method, baseUrl);
    for (const [key, value] of Object.entries(init.query ?? {})) url.searchParams.set(key, value);
    try {
      const response = await fetchImpl(url, {
        method: init.json === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${await options.token()}`,
          ...(init.json === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        },
        ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        return { ok: false, reason: `${method} answered HTTP ${response.status}` };
      }
      const body: unknown = await response.json();
      const answer = answerSchema.safeParse(body);
      if (!answer.success) return { ok: false, reason: `${method} answered something that is not a Slack answer` };
      if (!answer.data.ok) return { ok: false, reason: `${method} answered ${answer.data.error ?? 'ok: false'}` };
      return { ok: true, body };
    } catch (error) {
      // By shape, not instanceof: fetch's errors come from another realm where tests run in a VM context.
      const name = (error as { name?: unknown } | null)?.name;
      return {
        ok: false,
        reason:
          name === 'TimeoutError'
            ? `${method} did not answer within ${timeoutMs} ms`
            : `${method} failed (${typeof name === 'string' ? name : 'UnknownError'})`,
      };
    }
  };

  return {
    async userEmail(user) {
      const called = await call('users.info', { query: { user } });
      if (!called.ok) return called;
      const parsed = userSchema.safeParse(called.body);
      if (!parsed.success) return { ok: false, reason: 'users.info answered no user' };
      const { deleted, is_bot: isBot, is_email_confirmed: confirmed, profile } = parsed.data.user;
      if (deleted || isBot) return { ok: false, reason: `Slack user ${user} is deactivated or a bot` };
      if (!profile?.email) {
        return { ok: false, reason: `Slack shows no e-mail for ${user} (the bot token needs users:read.email)` };
      }
      if (confirmed !== true) return { ok: false, reason: `Slack user ${user} has not confirmed their e-mail` };
      return { ok: true, email: profile.email.toLowerCase() };
    },
    async postInThread({ channel, threadTs, text }) {
      // Slack API docs, chat.postMessage: thread_ts makes the message a reply in that message's thread.
      const called = await call('chat.postMessage', { json: { channel, thread_ts: threadTs, text } });
      return called.ok;
    },
  };
}
