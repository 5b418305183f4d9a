/**
 * Where events Slipway cannot handle are kept for a person to look at. An event must never be
 * lost silently: when the queue cannot take it, the caller fails, so that Lambda's own retries
 * and on-failure destination keep it instead.
 */
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SlipwayError } from '../errors';
import { logger } from '../observability';

export type DeadLetterEvent = { id?: string; source?: string; 'detail-type'?: string } & Record<string, unknown>;

export interface DeadLetters {
  send(event: DeadLetterEvent, reason: string): Promise<void>;
}

export class DeadLetterUnavailable extends SlipwayError {
  constructor(message: string, options?: ConstructorParameters<typeof SlipwayError>[3]) {
    super('DEAD_LETTER_UNAVAILABLE', 500, message, options);
  }
}

// The SQS limit for a message, counting its attributes with the body. SQS now allows up to 1 MiB,
// but a queue's own MaximumMessageSize may be lower; 256 KiB was the ceiling and default for years.
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_REASON_LENGTH = 1000;
// What identifies an event (its id, source, detail-type) is short in any real event; a hostile one is cut.
export const MAX_IDENTIFIER_LENGTH = 256;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function stringAttribute(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

// SQS rejects a message whose attributes hold characters outside this set (XML 1.0 characters);
// with the u flag a lone surrogate, as cutting text can leave, is outside it too.
const NOT_XML_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function attributeText(value: string, max = Number.POSITIVE_INFINITY): string {
  return value.slice(0, max).replace(NOT_XML_CHARACTER, '\uFFFD');
}

/** The message attributes for an event: SQS refuses empty values, so missing ones are left out. */
export function deadLetterAttributes(event: DeadLetterEvent, reason: string): Record<string, MessageAttributeValue> {
  const identifier = (value: unknown) =>
    typeof value === 'string' ? attributeText(value, MAX_IDENTIFIER_LENGTH) : undefined;
  const values = {
    reason: attributeText(reason, MAX_REASON_LENGTH),
    eventId: identifier(event.id),
    source: identifier(event.source),
  };
  return Object.fromEntries(
    Object.entries(values)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
      .map(([name, value]) => [name, stringAttribute(value)]),
  );
}

function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  return Object.entries(attributes).reduce(
    (total, [name, value]) => total + bytes(name) + bytes(value.DataType ?? '') + bytes(value.StringValue ?? ''),
    0,
  );
}

/** The event as JSON, or, when that would not fit in one message, what identifies it and how big it was. */
export function deadLetterBody(event: DeadLetterEvent, attributes: Record<string, MessageAttributeValue>): string {
  const body = JSON.stringify(event);
  const size = bytes(body);
  if (size + attributeBytes(attributes) <= MAX_MESSAGE_BYTES) return body;
  const identifier = (value: unknown) =>
    typeof value === 'string' ? value.slice(0, MAX_IDENTIFIER_LENGTH) : undefined;
  return JSON.stringify({
    truncated: true,
    id: identifier(event.id),
    source: identifier(event.source),
    'detail-type': identifier(event['detail-type']),
    bytes: size,
  });
}

export function sqsDeadLetters(sqs: SQSClient, queueUrl: string | undefined): DeadLetters {
  return {
    async send(event, reason) {
      const eventId = event.id;
      if (!queueUrl) {
        throw new DeadLetterUnavailable('no dead-letter queue is configured', { details: { eventId, reason } });
      }
      try {
        const attributes = deadLetterAttributes(event, reason);
        const body = deadLetterBody(event, attributes);
        logger.error('event sent to the dead-letter queue', { eventId, reason });
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }),
        );
      } catch (error) {
        throw new DeadLetterUnavailable('the dead-letter queue did not take the event', {
          cause: error,
          details: { eventId, reason },
        });
      }
    },
  };
}
