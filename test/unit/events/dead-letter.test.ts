import { QueueDoesNotExist, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DeadLetterUnavailable,
  MAX_MESSAGE_BYTES,
  MAX_REASON_LENGTH,
  sqsDeadLetters,
} from '../../../lib/events/dead-letter';
import { logger } from '../../../lib/observability';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/slipway-prod-dead-letters';
// The shape of the ECS deployment state change event, as the ECS developer guide shows it.
const event = {
  version: '0',
  id: 'ddca6449-b258-46c0-8653-e0e3a6b1c2d3',
  'detail-type': 'ECS Deployment State Change',
  source: 'aws.ecs',
  account: '123456789012',
  time: '2026-11-22T03:12:40Z',
  region: 'us-east-1',
  resources: ['arn:aws:ecs:us-east-1:123456789012:service/shop-prod/backend'],
  detail: {
    eventType: 'ERROR',
    eventName: 'SERVICE_DEPLOYMENT_FAILED',
    deploymentId: 'ecs-svc/7483920165748392016',
    updatedAt: '2026-11-22T03:12:40Z',
    reason: 'ECS deployment circuit breaker: tasks failed to start.',
  },
};
const REASON = 'no deployment record for ecs-svc/7483920165748392016';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'us-east-1' });

beforeEach(() => sqs.reset());
afterEach(() => jest.restoreAllMocks());

describe('sqsDeadLetters', () => {
  it('logs the event, then sends it whole with its reason, id and source as attributes', async () => {
    // Given a queue that takes messages
    const order: string[] = [];
    const error = jest.spyOn(logger, 'error').mockImplementation(() => {
      order.push('logged');
    });
    sqs.on(SendMessageCommand).callsFake(() => {
      order.push('sent');
      return { MessageId: '0b4f6a2c-8d1e-4f3a-9c5b-7e2d4f6a8c0e' };
    });

    // When an event that cannot be handled is dead-lettered
    await sqsDeadLetters(client, QUEUE).send(event, REASON);

    // Then exactly this message is sent
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      MessageBody: JSON.stringify(event),
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: REASON },
        eventId: { DataType: 'String', StringValue: 'ddca6449-b258-46c0-8653-e0e3a6b1c2d3' },
        source: { DataType: 'String', StringValue: 'aws.ecs' },
      },
    });
    expect(Object.keys(sqs.call(0).args[0].input).sort()).toEqual(['MessageAttributes', 'MessageBody', 'QueueUrl']);
    // And an error was logged first, naming the event and why
    expect(error).toHaveBeenCalledWith('event sent to the dead-letter queue', {
      eventId: 'ddca6449-b258-46c0-8653-e0e3a6b1c2d3',
      reason: REASON,
    });
    expect(order).toEqual(['logged', 'sent']);
  });

  it('leaves out the attributes an event does not have and cuts a long reason', async () => {
    // Given an event without id or source, and a reason longer than the attribute allows
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    sqs.on(SendMessageCommand).resolves({ MessageId: '0b4f6a2c-8d1e-4f3a-9c5b-7e2d4f6a8c0e' });
    const anonymous = { detail: { note: 'made by hand' } };

    // When it is dead-lettered
    await sqsDeadLetters(client, QUEUE).send(anonymous, `unparseable: ${'z'.repeat(2000)}`);

    // Then only the reason is attached, cut to its limit
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE,
      MessageBody: '{"detail":{"note":"made by hand"}}',
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: `unparseable: ${'z'.repeat(2000)}`.slice(0, MAX_REASON_LENGTH) },
      },
    });
  });

  it('sends what identifies an event too large for one message', async () => {
    // Given an event whose JSON is larger than an SQS message may be
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    sqs.on(SendMessageCommand).resolves({ MessageId: '0b4f6a2c-8d1e-4f3a-9c5b-7e2d4f6a8c0e' });
    const huge = { ...event, detail: { ...event.detail, payload: 'p'.repeat(MAX_MESSAGE_BYTES) } };

    // When it is dead-lettered
    await sqsDeadLetters(client, QUEUE).send(huge, REASON);

    // Then a truncated body names the event and its size instead
    const sent = sqs.call(0).args[0].input as { MessageBody: string };
    expect(JSON.parse(sent.MessageBody)).toEqual({
      truncated: true,
      id: 'ddca6449-b258-46c0-8653-e0e3a6b1c2d3',
      source: 'aws.ecs',
      'detail-type': 'ECS Deployment State Change',
      bytes: Buffer.byteLength(JSON.stringify(huge)),
    });
  });

  it('refuses, by throwing, when no queue is configured', async () => {
    // Given no dead-letter queue in this stage
    const deadLetters = sqsDeadLetters(client, undefined);

    // When an event is dead-lettered
    const sending = deadLetters.send(event, REASON);

    // Then the caller fails, so Lambda keeps the event, and nothing is sent
    await expect(sending).rejects.toBeInstanceOf(DeadLetterUnavailable);
    await expect(sending).rejects.toThrow('no dead-letter queue is configured');
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it('throws with the SQS error as the cause when the queue does not take the event', async () => {
    // Given SQS refuses the message
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const refusal = new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} });
    sqs.on(SendMessageCommand).rejects(refusal);

    // When an event is dead-lettered
    let failure: unknown;
    try {
      await sqsDeadLetters(client, QUEUE).send(event, REASON);
    } catch (error) {
      failure = error;
    }

    // Then it fails with the refusal as the cause
    expect(failure).toBeInstanceOf(DeadLetterUnavailable);
    expect((failure as DeadLetterUnavailable).cause).toBe(refusal);
    expect((failure as DeadLetterUnavailable).details).toEqual({
      eventId: 'ddca6449-b258-46c0-8653-e0e3a6b1c2d3',
      reason: REASON,
    });
  });
});
