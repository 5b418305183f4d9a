/**
 * Deployment state changes, published to SNS for whoever subscribes (chat, e-mail, other systems).
 * A notification is a courtesy: failing to send one never fails the deployment that caused it.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type MessageAttributeValue,
  PublishCommand,
  type PublishCommandInput,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { logger, metrics } from '../observability';

export interface Notification {
  /** Cleaned to what SNS accepts as a subject before it is sent. */
  subject: string;
  /** What happened, e.g. 'deployment.state'. */
  type: string;
  app: string;
  environment: string;
  state: string;
  body: Record<string, unknown>;
}

export interface Publisher {
  /** Whether SNS accepted the notification. Never throws. */
  publish(notification: Notification): Promise<boolean>;
}

// SNS Publish: subjects must be printable ASCII, with no line breaks or control characters,
// and less than 100 characters long.
export const MAX_SUBJECT_LENGTH = 99;
const ELLIPSIS = '...';
const FALLBACK_SUBJECT = 'Slipway notification';
const ATTEMPTS = 2;

/** `subject` as SNS accepts it: accents dropped, other non-ASCII and control characters removed, cut short. */
export function snsSubject(subject: string): string {
  const cleaned = subject
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\p{Cc}\p{Z}]+/gu, ' ')
    .replace(/[^\x20-\x7e]/g, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (cleaned === '') return FALLBACK_SUBJECT;
  if (cleaned.length <= MAX_SUBJECT_LENGTH) return cleaned;
  return `${cleaned.slice(0, MAX_SUBJECT_LENGTH - ELLIPSIS.length).trimEnd()}${ELLIPSIS}`;
}

function stringAttribute(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

/** The Publish request for one notification: the routing fields travel as attributes for subscription filters. */
export function publishInput(topicArn: string, notification: Notification): PublishCommandInput {
  const { subject, type, app, environment, state, body } = notification;
  const routing = { type, app, environment, state };
  return {
    TopicArn: topicArn,
    Subject: snsSubject(subject),
    Message: JSON.stringify({ ...routing, ...body }),
    MessageAttributes: Object.fromEntries(
      // SNS refuses an attribute with an empty value; a filter cannot match one anyway.
      Object.entries(routing)
        .filter(([, value]) => value !== '')
        .map(([name, value]) => [name, stringAttribute(value)]),
    ),
  };
}

function errorName(error: unknown): string {
  return error instanceof Error && error.name ? error.name : 'UnknownError';
}

export function snsPublisher(sns: SNSClient, topicArn: string | undefined): Publisher {
  return {
    async publish(notification) {
      const { type, app, environment, state } = notification;
      if (!topicArn) {
        logger.debug('notification not published: no topic configured', { type, app, environment, state });
        return false;
      }
      let failure: unknown;
      for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
        try {
          // Built inside the try: a body JSON cannot encode is a failure to report, not to throw.
          await sns.send(new PublishCommand(publishInput(topicArn, notification)));
          return true;
        } catch (error) {
          failure = error;
        }
      }
      logger.warn('notification not published', {
        errorName: errorName(failure),
        attempts: ATTEMPTS,
        type,
        app,
        environment,
        state,
      });
      metrics.addMetric('NotificationsFailed', MetricUnit.Count, 1);
      return false;
    },
  };
}
