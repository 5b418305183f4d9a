import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { format } from 'node:util';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { jest } from '@jest/globals';
import type { Notification } from '../../lib/notify/publisher';

/** A node:http server on 127.0.0.1 stands in for Slack: the publisher posts to it over a real socket. */

// The warning about a failed post is part of what is tested, so the logger must write it.
// It reads its level when it is built: import after.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
const { slackMessage, slackPublisher } = await import('../../lib/notify/slack');
const { logger, metrics } = await import('../../lib/observability');

const DIGEST_FROM = `sha256:${'3f2a1c9e'.repeat(8)}`;
const DIGEST_TO = `sha256:${'b7d04e61'.repeat(8)}`;
// The path of a real incoming webhook is its credential.
const WEBHOOK_PATH = '/services/T0SLIPWAY/B0DEPLOYS/q8Vn3Xw7Lk2Rt9Zp4Hs6Jd1M';

const failed: Notification = {
  subject: 'Slipway: shop/production deploy FAILED',
  type: 'deployment.state',
  app: 'shop',
  environment: 'production',
  state: 'FAILED',
  body: {
    deployment: {
      id: 'dep-01J9ZK4V7Q',
      app: 'shop',
      environment: 'production',
      kind: 'deploy',
      state: 'FAILED',
      requestedBy: 'ci-bot',
      reason: 'release v2.4.0',
      cluster: 'shop-prod',
      service: 'shop-web',
      createdAt: '2025-03-14T09:26:53.000Z',
      updatedAt: '2025-03-14T09:41:02.000Z',
      fromDigest: DIGEST_FROM,
      toDigest: DIGEST_TO,
      ecsDeploymentId: 'ecs-svc/9223370501046741042',
      failureReason: 'Essential container <web> exited & 2 tasks stopped',
    },
    from: DIGEST_FROM,
    to: DIGEST_TO,
  },
};

const alarm: Notification = {
  subject: 'Slipway: shop/production alarm slipway-prod-shop-production-availability is ALARM',
  type: 'alarm',
  app: 'shop',
  environment: 'production',
  state: 'ALARM',
  body: {
    alarmName: 'slipway-prod-shop-production-availability',
    reason: 'Threshold Crossed: 3 out of the last 5 datapoints were less than the threshold (0.99)',
    previousState: 'OK',
    at: '2025-03-14T09:44:10.000+0000',
    decision: 'rolled back dep-01J9ZK4V7Q',
  },
};

interface Received {
  method: string;
  path: string;
  contentType: string | undefined;
  body: string;
}

interface FakeSlack {
  url: string;
  received: Received[];
}

const servers: Server[] = [];

/** Answers each request with the next status in `statuses` (the last one repeats); `null` never answers. */
async function fakeSlack(statuses: Array<number | null>): Promise<FakeSlack> {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const status = statuses[Math.min(received.length, statuses.length) - 1];
      if (status === null || status === undefined) return;
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(status < 300 ? 'ok' : 'internal_error');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`, received };
}

/** Everything written to stdout, stderr or the console while `act` runs; none of it reaches the terminal. */
async function captureOutput<T>(act: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const consoleMethods = methods.map((method) => console[method]);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
  }
  for (const method of methods) {
    console[method] = (...args: unknown[]) => {
      chunks.push(`${format(...args)}\n`);
    };
  }
  try {
    return { result: await act(), output: chunks.join('') };
  } finally {
    streams.forEach((stream, index) => {
      stream.write = writes[index] as typeof stream.write;
    });
    methods.forEach((method, index) => {
      console[method] = consoleMethods[index] as (typeof console)[typeof method];
    });
  }
}

const urlOf = (slack: FakeSlack) => async () => slack.url;

afterEach(() => jest.restoreAllMocks());

afterAll(async () => {
  for (const server of servers) {
    // The silent server still holds its requests open.
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('slackPublisher against a webhook server', () => {
  it('posts a failed deployment as Block Kit: fields, escaped text, the ECS console link', async () => {
    // Given a webhook that accepts messages
    const slack = await fakeSlack([200]);

    // When a failed deployment is published
    const sent = await slackPublisher(urlOf(slack), { region: 'eu-west-1' }).publish(failed);

    // Then exactly this message arrived, once, as JSON
    expect(sent).toBe(true);
    expect(slack.received).toHaveLength(1);
    expect(slack.received[0]).toMatchObject({
      method: 'POST',
      path: WEBHOOK_PATH,
      contentType: 'application/json',
    });
    expect(JSON.parse(slack.received[0]?.body ?? '')).toEqual({
      text: '❌ Slipway: shop/production deploy FAILED',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '❌ shop/production FAILED', emoji: true } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*From → To*\n`3f2a1c9e3f2a` → `b7d04e61b7d0`' },
            { type: 'mrkdwn', text: '*Who*\nci-bot' },
            { type: 'mrkdwn', text: '*Why*\nEssential container &lt;web&gt; exited &amp; 2 tasks stopped' },
            { type: 'mrkdwn', text: '*Kind*\ndeploy' },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '<https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/shop-prod/services/shop-web/deployments?region=eu-west-1|ECS service shop-web>',
          },
        },
      ],
    });
  });

  it('puts Approve and Reject on a deployment waiting for approval only where Slack interactions are configured', async () => {
    // Given a deployment waiting for approval, and a webhook that accepts messages
    const waiting: Notification = {
      ...failed,
      subject: 'Slipway: shop/production deploy PENDING_APPROVAL',
      type: 'deployment.approval',
      state: 'PENDING_APPROVAL',
      body: {
        deployment: { ...(failed.body.deployment as object), state: 'PENDING_APPROVAL', failureReason: undefined },
      },
    };
    const slack = await fakeSlack([200]);

    // When it is published with the buttons on, and again with them off
    await slackPublisher(urlOf(slack), { approvalButtons: true }).publish(waiting);
    await slackPublisher(urlOf(slack)).publish(waiting);

    // Then the first message ends with both buttons, each carrying the deployment id, and the second has none
    const [withButtons, without] = slack.received.map((received) => JSON.parse(received.body).blocks as unknown[]);
    const button = (text: string, action: string, style: string) => ({
      type: 'button',
      text: { type: 'plain_text', text },
      action_id: action,
      value: 'dep-01J9ZK4V7Q',
      style,
    });
    expect(withButtons?.at(-1)).toEqual({
      type: 'actions',
      elements: [button('Approve', 'slipway.approve', 'primary'), button('Reject', 'slipway.reject', 'danger')],
    });
    expect(without?.some((block) => (block as { type: string }).type === 'actions')).toBe(false);
  });

  it('posts an alarm with its reason and the CloudWatch alarm link', async () => {
    // Given a webhook that accepts messages
    const slack = await fakeSlack([200]);

    // When an alarm notification is published
    const sent = await slackPublisher(urlOf(slack), { region: 'us-east-1' }).publish(alarm);

    // Then the message names the alarm and links to it
    expect(sent).toBe(true);
    expect(slack.received).toHaveLength(1);
    expect(JSON.parse(slack.received[0]?.body ?? '')).toEqual({
      text: '🔔 Slipway: shop/production alarm slipway-prod-shop-production-availability is ALARM',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '🔔 shop/production ALARM', emoji: true } },
        {
          type: 'section',
          fields: [
            {
              type: 'mrkdwn',
              text: '*Why*\nThreshold Crossed: 3 out of the last 5 datapoints were less than the threshold (0.99)',
            },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '<https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/slipway-prod-shop-production-availability|Alarm slipway-prod-shop-production-availability>',
          },
        },
      ],
    });
  });

  it('retries once, then gives up without throwing: a warning without the URL and a failure counted', async () => {
    // Given a webhook that keeps answering 500
    const slack = await fakeSlack([500]);
    const addMetric = jest.spyOn(metrics, 'addMetric').mockReturnValue(metrics);

    // When a notification is published, with everything written captured
    const { result, output } = await captureOutput(() => slackPublisher(urlOf(slack)).publish(failed));

    // Then it was posted twice and reported as not sent
    expect(result).toBe(false);
    expect(slack.received).toHaveLength(2);
    expect(addMetric).toHaveBeenCalledTimes(1);
    expect(addMetric).toHaveBeenCalledWith('SlackNotificationsFailed', MetricUnit.Count, 1);
    // And the warning says why, and holds no part of the webhook's URL
    const warnings = output
      .split('\n')
      .filter((line) => line.includes('slack notification not sent'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'WARN',
        status: 500,
        attempts: 2,
        type: 'deployment.state',
        app: 'shop',
        environment: 'production',
        state: 'FAILED',
      }),
    ]);
    expect(output).not.toContain(WEBHOOK_PATH);
    expect(output).not.toContain('q8Vn3Xw7Lk2Rt9Zp4Hs6Jd1M');
    expect(output).not.toContain(new URL(slack.url).host);
  });

  it('succeeds on the retry when only the first post fails', async () => {
    // Given a webhook that answers 500, then 200
    const slack = await fakeSlack([500, 200]);
    const addMetric = jest.spyOn(metrics, 'addMetric').mockReturnValue(metrics);

    // When a notification is published
    const sent = await slackPublisher(urlOf(slack)).publish(failed);

    // Then the second post delivered the same message and nothing is counted as failed
    expect(sent).toBe(true);
    expect(slack.received).toHaveLength(2);
    expect(slack.received[1]?.body).toBe(slack.received[0]?.body);
    expect(addMetric).not.toHaveBeenCalled();
  });

  it('gives up on a webhook that never answers, within the per-attempt timeout', async () => {
    // Given a webhook that accepts the connection and never answers
    const slack = await fakeSlack([null]);
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);

    // When a notification is published with a 200 ms timeout
    const started = performance.now();
    const sent = await slackPublisher(urlOf(slack), { timeoutMs: 200 }).publish(failed);
    const elapsed = performance.now() - started;

    // Then both attempts timed out and it returned false in well under a second
    expect(sent).toBe(false);
    expect(elapsed).toBeLessThan(1_000);
    expect(slack.received).toHaveLength(2);
    expect(warn).toHaveBeenCalledWith(
      'slack notification not sent',
      expect.objectContaining({ errorName: 'TimeoutError', attempts: 2 }),
    );
  });

  it('gives up on a webhook that refuses connections, after two attempts', async () => {
    // Given a webhook whose server has gone away
    const slack = await fakeSlack([200]);
    const server = servers.at(-1) as Server;
    await new Promise((resolve) => server.close(resolve));
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const attempts: string[] = [];
    const countingFetch: typeof fetch = (input, init) => {
      attempts.push(String(init?.method));
      return fetch(input, init);
    };

    // When a notification is published
    const sent = await slackPublisher(urlOf(slack), { fetch: countingFetch }).publish(failed);

    // Then both attempts failed on the network, reported by the error's name alone
    expect(sent).toBe(false);
    expect(attempts).toEqual(['POST', 'POST']);
    expect(warn).toHaveBeenCalledWith('slack notification not sent', {
      errorName: 'TypeError',
      attempts: 2,
      type: 'deployment.state',
      app: 'shop',
      environment: 'production',
      state: 'FAILED',
    });
  });

  it('sends nothing when no webhook is configured', async () => {
    // Given a server that would accept a post, and no URL in the secret
    const slack = await fakeSlack([200]);
    const addMetric = jest.spyOn(metrics, 'addMetric').mockReturnValue(metrics);

    // When a notification is published
    const sent = await slackPublisher(async () => undefined).publish(failed);

    // Then nothing was posted, and nothing counted as a failure
    expect(sent).toBe(false);
    expect(slack.received).toHaveLength(0);
    expect(addMetric).not.toHaveBeenCalled();
  });

  it('reports, without throwing, a webhook URL that cannot be read', async () => {
    // Given the secret cannot be read
    const addMetric = jest.spyOn(metrics, 'addMetric').mockReturnValue(metrics);
    const unreadable = async (): Promise<string> => {
      throw Object.assign(new Error('secret unavailable'), { name: 'ResourceNotFoundException' });
    };

    // When a notification is published
    const { result, output } = await captureOutput(() => slackPublisher(unreadable).publish(failed));

    // Then it is reported as not sent, with the error's name
    expect(result).toBe(false);
    expect(output).toContain('"errorName":"ResourceNotFoundException"');
    expect(addMetric).toHaveBeenCalledWith('SlackNotificationsFailed', MetricUnit.Count, 1);
  });
});

describe('slackMessage', () => {
  it('names task definitions by family:revision when there is no digest', () => {
    // Given a restart, which has task definitions and no digests
    const restart: Notification = {
      ...failed,
      subject: 'Slipway: shop/production restart SUCCEEDED',
      state: 'SUCCEEDED',
      body: {
        deployment: { kind: 'restart', requestedBy: 'ana', fromDigest: null, toDigest: null },
        from: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-web:41',
        to: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-web:42',
      },
    };

    // When its message is built
    const message = slackMessage(restart, 'eu-west-1');

    // Then the header says it succeeded and the fields name the revisions; no link without cluster and service
    expect(message.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: '✅ shop/production SUCCEEDED', emoji: true } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*From → To*\n`shop-web:41` → `shop-web:42`' },
          { type: 'mrkdwn', text: '*Who*\nana' },
          { type: 'mrkdwn', text: '*Kind*\nrestart' },
        ],
      },
    ]);
  });

  it.each([
    ['SUCCEEDED', '✅'],
    ['FAILED', '❌'],
    ['ROLLED_BACK', '↩️'],
    ['PENDING_APPROVAL', '⏳'],
    ['IN_PROGRESS', '🚀'],
    ['TIMED_OUT', '⌛'],
    ['REFUSED', '🚫'],
    ['ALARM', '🔔'],
    ['CANCELLED', '•'],
  ])('marks %s with %s', (state, emoji) => {
    const message = slackMessage({ ...alarm, state }, 'us-east-1');
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: `${emoji} shop/production ${state}`, emoji: true },
    });
    expect(message.text.startsWith(`${emoji} `)).toBe(true);
  });

  it('keeps the fallback text on one line, escaped', () => {
    const message = slackMessage({ ...failed, subject: 'Slipway: <!channel> a\nb & c' }, 'us-east-1');
    expect(message.text).toBe('❌ Slipway: &lt;!channel&gt; a b &amp; c');
  });

  it('cuts a long reason to the 2,000 characters Slack allows in a field, never inside an escape', () => {
    // Given a failure reason far longer than a field may be, full of characters that need escaping
    // (The leading x puts the limit inside an escape.)
    const reason = `x${'<&>'.repeat(1_000)}`;

    // When its message is built
    const message = slackMessage({ ...failed, body: { deployment: { failureReason: reason } } }, 'us-east-1');

    // Then the field ends with whole escapes and an ellipsis, within the limit
    const [why] = (message.blocks[1] as { fields: Array<{ text: string }> }).fields;
    expect(why?.text.length).toBeLessThanOrEqual(2_000);
    expect(why?.text.startsWith('*Why*\nx&lt;&amp;&gt;&lt;')).toBe(true);
    expect(why?.text).toMatch(/(&lt;|&amp;|&gt;)…$/);
  });

  it('takes cluster and service by ARN too, and encodes the alarm name in its link', () => {
    const message = slackMessage(
      {
        ...alarm,
        body: {
          alarmName: 'shop 5xx/errors',
          cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/shop-prod',
          service: 'arn:aws:ecs:us-east-1:123456789012:service/shop-prod/shop-web',
        },
      },
      'us-east-1',
    );
    expect(message.blocks.at(-1)).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [
          '<https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/shop-prod/services/shop-web/deployments?region=us-east-1|ECS service shop-web>',
          '<https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/shop%205xx%2Ferrors|Alarm shop 5xx/errors>',
        ].join('\n'),
      },
    });
  });
});
