import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { InternalErrorException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { MAX_SUBJECT_LENGTH, type Notification, snsPublisher, snsSubject } from '../../../lib/notify/publisher';
import { logger, metrics } from '../../../lib/observability';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-prod-notifications';
const notification: Notification = {
  subject: 'shop/production: deployment dep-1 FAILED',
  type: 'deployment.state',
  app: 'shop',
  environment: 'production',
  state: 'FAILED',
  body: { deploymentId: 'dep-1', reason: 'task 5c2d stopped: Essential container in task exited' },
};

const sns = mockClient(SNSClient);
const client = new SNSClient({ region: 'us-east-1' });

beforeEach(() => sns.reset());
afterEach(() => jest.restoreAllMocks());

describe('snsPublisher', () => {
  it('publishes the notification with its routing fields as message attributes', async () => {
    // Given SNS accepts messages
    sns.on(PublishCommand).resolves({ MessageId: '5f3c1a9e-2b7d-5e4f-8a6c-0d1e2f3a4b5c' });

    // When a state change is published
    const published = await snsPublisher(client, TOPIC).publish(notification);

    // Then exactly this message is sent, once
    expect(published).toBe(true);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'shop/production: deployment dep-1 FAILED',
      Message: JSON.stringify({
        type: 'deployment.state',
        app: 'shop',
        environment: 'production',
        state: 'FAILED',
        deploymentId: 'dep-1',
        reason: 'task 5c2d stopped: Essential container in task exited',
      }),
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'deployment.state' },
        app: { DataType: 'String', StringValue: 'shop' },
        environment: { DataType: 'String', StringValue: 'production' },
        state: { DataType: 'String', StringValue: 'FAILED' },
      },
    });
    expect(Object.keys(sns.call(0).args[0].input).sort()).toEqual([
      'Message',
      'MessageAttributes',
      'Subject',
      'TopicArn',
    ]);
  });

  it('retries once, then gives up without throwing, logs a warning and counts the failure', async () => {
    // Given SNS keeps failing
    sns.on(PublishCommand).rejects(new InternalErrorException({ message: 'Internal Error', $metadata: {} }));
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const addMetric = jest.spyOn(metrics, 'addMetric').mockReturnValue(metrics);

    // When a state change is published
    const published = await snsPublisher(client, TOPIC).publish(notification);

    // Then it was tried twice and reported as not published
    expect(published).toBe(false);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('notification not published', {
      errorName: 'InternalErrorException',
      attempts: 2,
      type: 'deployment.state',
      app: 'shop',
      environment: 'production',
      state: 'FAILED',
    });
    expect(addMetric).toHaveBeenCalledTimes(1);
    expect(addMetric).toHaveBeenCalledWith('NotificationsFailed', MetricUnit.Count, 1);
  });

  it('succeeds on the retry when only the first attempt fails', async () => {
    // Given SNS fails once, then accepts
    sns
      .on(PublishCommand)
      .rejectsOnce(new InternalErrorException({ message: 'Internal Error', $metadata: {} }))
      .resolves({ MessageId: '5f3c1a9e-2b7d-5e4f-8a6c-0d1e2f3a4b5c' });
    const addMetric = jest.spyOn(metrics, 'addMetric').mockReturnValue(metrics);

    // When a state change is published
    const published = await snsPublisher(client, TOPIC).publish(notification);

    // Then it is published on the second attempt and nothing is counted as failed
    expect(published).toBe(true);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(addMetric).not.toHaveBeenCalled();
  });

  it('reports, without throwing, a body that cannot be encoded', async () => {
    // Given a body JSON cannot represent
    const addMetric = jest.spyOn(metrics, 'addMetric').mockReturnValue(metrics);

    // When it is published
    const published = await snsPublisher(client, TOPIC).publish({ ...notification, body: { bytes: 10n } });

    // Then nothing reaches SNS and the failure is counted
    expect(published).toBe(false);
    expect(sns).not.toHaveReceivedAnyCommand();
    expect(addMetric).toHaveBeenCalledWith('NotificationsFailed', MetricUnit.Count, 1);
  });

  it('sends nothing when no topic is configured', async () => {
    // Given notifications are not set up in this stage
    const publisher = snsPublisher(client, undefined);

    // When a state change is published
    const published = await publisher.publish(notification);

    // Then SNS is not called
    expect(published).toBe(false);
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it('cleans the subject to what SNS accepts', async () => {
    // Given a subject with accents, an emoji, a line break and more than 100 characters
    sns.on(PublishCommand).resolves({ MessageId: '5f3c1a9e-2b7d-5e4f-8a6c-0d1e2f3a4b5c' });
    const subject = `Déploiement ✅ café/production\r\nFAILED: ${'x'.repeat(120)}`;

    // When it is published
    await snsPublisher(client, TOPIC).publish({ ...notification, subject });

    // Then the subject sent is printable ASCII on one line, under the limit
    const sent = sns.call(0).args[0].input as { Subject: string };
    expect(sent.Subject).toBe(`Deploiement cafe/production FAILED: ${'x'.repeat(60)}...`);
    expect(sent.Subject).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(sent.Subject).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('snsSubject', () => {
  it.each([
    {
      case: 'keeps a plain subject',
      subject: 'shop/production: dep-1 SUCCEEDED',
      expected: 'shop/production: dep-1 SUCCEEDED',
    },
    {
      case: 'turns line breaks and tabs into spaces',
      subject: '  tabs\tand\nnewlines\r\n ',
      expected: 'tabs and newlines',
    },
    { case: 'drops accents and other non-ASCII', subject: 'naïve — Zürich', expected: 'naive Zurich' },
    { case: 'never sends an empty subject', subject: '🚀🚀', expected: 'Slipway notification' },
    {
      case: 'keeps a subject at the limit',
      subject: 'a'.repeat(MAX_SUBJECT_LENGTH),
      expected: 'a'.repeat(MAX_SUBJECT_LENGTH),
    },
    {
      case: 'cuts a longer one with an ellipsis',
      subject: 'a'.repeat(MAX_SUBJECT_LENGTH + 1),
      expected: `${'a'.repeat(MAX_SUBJECT_LENGTH - 3)}...`,
    },
  ])('$case', ({ subject, expected }) => {
    expect(snsSubject(subject)).toBe(expected);
  });
});
