/**
 * Notifications posted to a Slack incoming webhook, as Block Kit messages people can act on:
 * what changed, who asked and why, with links to the AWS console.
 * The webhook URL is a secret (anyone holding it can post to the channel): it is never logged.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { regionFrom } from '../aws/endpoints';
import { logger, metrics } from '../observability';
import type { Notification, Publisher } from './publisher';

export interface SlackPublisherOptions {
  fetch?: typeof fetch;
  /** Per attempt. */
  timeoutMs?: number;
  /** Where the console links point; the function's own region unless told. */
  region?: string;
  /** Approve and Reject on a deployment waiting for approval: only where notifications.slack answers them. */
  approvalButtons?: boolean;
}

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

const ATTEMPTS = 2;
const DEFAULT_TIMEOUT_MS = 3_000;
// Block Kit limits: a header's plain_text, and each text object in a section's fields.
const MAX_HEADER_LENGTH = 150;
const MAX_FIELD_LENGTH = 2_000;
const DIGEST_CHARACTERS = 12;

const STATE_EMOJI: Record<string, string> = {
  SUCCEEDED: '✅',
  FAILED: '❌',
  ROLLED_BACK: '↩️',
  PENDING_APPROVAL: '⏳',
  IN_PROGRESS: '🚀',
  TIMED_OUT: '⌛',
  REFUSED: '🚫',
  ALARM: '🔔',
};
const OTHER_STATE_EMOJI = '•';

export function stateEmoji(state: string): string {
  return STATE_EMOJI[state] ?? OTHER_STATE_EMOJI;
}

/** `&`, `<` and `>` as Slack's mrkdwn shows them literally; it reads the bare characters as links and mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join('')}…`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A digest as its first 12 hex characters, a task definition ARN as family:revision; anything else unchanged. */
export function shortImage(image: string): string {
  const digest = /^sha256:([0-9a-f]+)$/i.exec(image);
  if (digest?.[1]) return digest[1].slice(0, DIGEST_CHARACTERS);
  const taskDefinition = /^arn:[^:]+:ecs:[^:]*:[^:]*:task-definition\/(.+)$/.exec(image);
  if (taskDefinition?.[1]) return taskDefinition[1];
  return image;
}

/** A cluster or service given by name or by ARN, as the console's URLs name it. */
function resourceName(value: string): string {
  return value.startsWith('arn:') ? (value.split('/').pop() ?? value) : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function mrkdwn(value: string) {
  return { type: 'mrkdwn', text: value };
}

/** A labelled field, cut to Slack's limit; never inside an escape, which would show as a stray `&am`. */
function field(label: string, escapedValue: string) {
  const full = `*${label}*\n${escapedValue}`;
  const characters = [...full];
  if (characters.length <= MAX_FIELD_LENGTH) return mrkdwn(full);
  return mrkdwn(
    `${characters
      .slice(0, MAX_FIELD_LENGTH - 1)
      .join('')
      .replace(/&[a-z]*$/, '')}…`,
  );
}

function link(url: string, label: string): string {
  return `<${url}|${escapeMrkdwn(label)}>`;
}

export function ecsServiceUrl(region: string, cluster: string, service: string): string {
  const origin = `https://${region}.console.aws.amazon.com`;
  return `${origin}/ecs/v2/clusters/${encodeURIComponent(cluster)}/services/${encodeURIComponent(service)}/deployments?region=${region}`;
}

export function alarmUrl(region: string, alarmName: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`;
}

export const APPROVE_ACTION = 'slipway.approve';
export const REJECT_ACTION = 'slipway.reject';

/** Approve and Reject, answered at POST /v1/slack/interactions with the deployment id as the value. */
function approvalButtons(deploymentId: string) {
  const button = (label: string, actionId: string, style: string) => ({
    type: 'button',
    text: { type: 'plain_text', text: label },
    action_id: actionId,
    value: deploymentId,
    style,
  });
  return {
    type: 'actions',
    elements: [button('Approve', APPROVE_ACTION, 'primary'), button('Reject', REJECT_ACTION, 'danger')],
  };
}

/** The Block Kit message for a notification: a header, the fields that are known, and console links. */
export function slackMessage(
  notification: Notification,
  region: string,
  options: { approvalButtons?: boolean } = {},
): SlackMessage {
  const { app, environment, state, subject, body } = notification;
  const deployment = isRecord(body.deployment) ? body.deployment : {};
  // A deployment's details sit under `deployment`; other notifications carry theirs at the top.
  const lookup = (key: string): string | undefined => text(deployment[key]) ?? text(body[key]);
  const emoji = stateEmoji(state);

  const from = text(body.from) ?? lookup('fromDigest');
  const to = text(body.to) ?? lookup('toDigest');
  const who = lookup('requestedBy');
  const why = lookup('failureReason') ?? lookup('reason');
  const kind = lookup('kind');
  const fields = [
    ...(from || to
      ? [
          field(
            'From → To',
            `\`${escapeMrkdwn(shortImage(from ?? '?'))}\` → \`${escapeMrkdwn(shortImage(to ?? '?'))}\``,
          ),
        ]
      : []),
    ...(who ? [field('Who', escapeMrkdwn(who))] : []),
    ...(why ? [field('Why', escapeMrkdwn(why))] : []),
    ...(kind ? [field('Kind', escapeMrkdwn(kind))] : []),
  ];

  const cluster = lookup('cluster');
  const service = lookup('service');
  const alarmName = lookup('alarmName');
  const links = [
    ...(cluster && service
      ? [
          link(
            ecsServiceUrl(region, resourceName(cluster), resourceName(service)),
            `ECS service ${resourceName(service)}`,
          ),
        ]
      : []),
    ...(alarmName ? [link(alarmUrl(region, alarmName), `Alarm ${alarmName}`)] : []),
  ];

  const headline = [app && environment ? `${app}/${environment}` : app || environment, state].filter(Boolean).join(' ');
  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(oneLine(`${emoji} ${headline}`), MAX_HEADER_LENGTH), emoji: true },
    },
    ...(fields.length > 0 ? [{ type: 'section', fields }] : []),
    ...(links.length > 0 ? [{ type: 'section', text: mrkdwn(links.join('\n')) }] : []),
    ...(options.approvalButtons && state === 'PENDING_APPROVAL' && lookup('id')
      ? [approvalButtons(lookup('id') as string)]
      : []),
  ];
  return { text: `${emoji} ${escapeMrkdwn(oneLine(subject))}`, blocks };
}

/** What is logged of a failed attempt: the status or the error's name, never the URL or an error message (it may quote the URL). */
interface Failure {
  status?: number;
  errorName?: string;
}
type Attempt = { ok: true } | ({ ok: false } & Failure);

function errorName(error: unknown): string {
  // By shape, not instanceof: fetch's errors come from another realm where tests run in a VM context.
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'UnknownError';
}

async function post(fetchImpl: typeof fetch, url: string, payload: string, timeoutMs: number): Promise<Attempt> {
  try {
    const response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // An unread body keeps its connection busy until it is collected.
    await response.body?.cancel().catch(() => undefined);
    return response.ok ? { ok: true } : { ok: false, status: response.status };
  } catch (error) {
    // AbortSignal.timeout rejects with a TimeoutError: the name alone says it was the deadline.
    return { ok: false, errorName: errorName(error) };
  }
}

/**
 * Posts to an interaction's response_url, which Slack accepts up to five times within thirty minutes
 * (Slack API docs, "Handling user interaction"); a failure is logged by status or error name, never by URL.
 */
export function slackResponder(options: Pick<SlackPublisherOptions, 'fetch' | 'timeoutMs'> = {}) {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async (responseUrl: string, message: unknown): Promise<boolean> => {
    const result = await post(fetchImpl, responseUrl, JSON.stringify(message), timeoutMs);
    if (!result.ok) logger.warn('slack response not sent', { status: result.status, errorName: result.errorName });
    return result.ok;
  };
}

export function slackPublisher(
  webhookUrl: () => Promise<string | undefined>,
  options: SlackPublisherOptions = {},
): Publisher {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const region = options.region ?? regionFrom();
  return {
    async publish(notification) {
      const { type, app, environment, state } = notification;
      const fail = (failure: Failure, attempts: number) => {
        logger.warn('slack notification not sent', { ...failure, attempts, type, app, environment, state });
        metrics.addMetric('SlackNotificationsFailed', MetricUnit.Count, 1);
        return false;
      };

      let url: string | undefined;
      let payload: string;
      try {
        url = (await webhookUrl())?.trim() || undefined;
        payload = JSON.stringify(
          slackMessage(notification, region, { approvalButtons: options.approvalButtons ?? false }),
        );
      } catch (error) {
        return fail({ errorName: errorName(error) }, 0);
      }
      if (!url) {
        logger.debug('slack notification not sent: no webhook configured', { type, app, environment, state });
        return false;
      }

      let failure: Failure = {};
      for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
        const result = await post(fetchImpl, url, payload, timeoutMs);
        if (result.ok) return true;
        failure = result.status === undefined ? { errorName: result.errorName } : { status: result.status };
      }
      return fail(failure, ATTEMPTS);
    },
  };
}
