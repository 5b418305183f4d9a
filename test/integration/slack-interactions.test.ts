import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { makeHandler as makeCreate } from '../../functions/http/create-deployment';
import { makeHandler as makeSlackInteractions } from '../../functions/http/slack-interactions';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { configSchema } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureStateTable } from '../../lib/local/provision';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { slackResponder } from '../../lib/notify/slack';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { auditOn } from '../support/audit';
import { type FakeAws, fakeAws, REPOSITORY } from '../support/fake-ecs';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { resourcesFragment } from '../support/resources';

/**
 * Slack button presses replayed, signed as Slack signs them, against the real handler on a dynalite state
 * table; a node:http server on 127.0.0.1 stands in for Slack's response_url.
 */

const TABLE = 'slipway-slack-interactions-test';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';
const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const RESPONSE_PATH = '/actions/T0SLIPWAY/1234567890/q8Vn3Xw7Lk2Rt9Zp';

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  apps: {
    shop: {
      repository: REPOSITORY,
      containers: ['backend'],
      environments: {
        staging: { cluster: 'shop-staging', service: 'backend' },
        production: { cluster: 'shop-prod', service: 'backend', approvals: 2 },
      },
    },
  },
});

const tokens = memoryTokenSource();
const dave = tokens.add('dave', ['deployer', 'approver']);
tokens.add('bob', ['approver']);
tokens.add('vera', ['viewer']);
tokens.entries.push({ name: 'sam', sha256: 'b'.repeat(64), roles: ['approver'], apps: ['blog'] });
const approvers = { U0DAVE: 'dave', U0BOB: 'bob', U0VERA: 'vera', U0SAM: 'sam' };

let dynamodb: EmbeddedServer;
let documents: DynamoDBDocumentClient;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let aws: FakeAws;
const mockSns = () => mockClient(SNSClient);
let sns: ReturnType<typeof mockSns>;
let clock: Date;
let tableCounter = 0;
let trail: ReturnType<typeof auditOn>;
let store: DeploymentStore;
let routes: { create: ReturnType<typeof makeCreate>; slack: ReturnType<typeof makeSlackInteractions> };
let slack: Server;
let slackUrl: string;
const received: Array<{ path: string; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  slack = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}${RESPONSE_PATH}`;
});

afterAll(async () => {
  dynamodb.close();
  await new Promise((resolve) => slack.close(resolve));
});

beforeEach(async () => {
  tableCounter += 1;
  const tableName = `${TABLE}-${tableCounter}`;
  const table = resourcesFragment('resources/state-table.yml', tableName).StateTable as CloudFormationResource;
  await ensureStateTable(dynamoClient, table, () => undefined);
  aws = fakeAws();
  sns = mockSns();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  clock = new Date('2026-11-23T10:00:00.000Z');
  received.length = 0;
  store = new DeploymentStore(documents, tableName);
  trail = auditOn(documents, tableName, () => clock);
  const deployments = new Deployments({
    config,
    stage: 'test',
    store,
    locks: new EnvironmentLocks(documents, tableName),
    ecsFor: () => new ECSClient({ region: 'us-east-1' }),
    ecrFor: (region) => new ECRClient({ region }),
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    audit: trail.audit,
    now: () => clock,
  });
  routes = {
    create: makeCreate({
      tokens: tokens.source,
      audit: trail.audit,
      deployments,
      idempotency: dynamoDbIdempotency(documents, tableName),
    }),
    slack: makeSlackInteractions({
      audit: trail.audit,
      slack: { signingSecret: async () => SIGNING_SECRET, approvers },
      tokens: tokens.source,
      deployments,
      respond: slackResponder(),
      now: () => clock,
    }),
  };
});

afterEach(() => {
  aws.restore();
  sns.restore();
  jest.restoreAllMocks();
});

const parsed = (response: APIGatewayProxyStructuredResultV2) => ({
  status: response.statusCode,
  body: JSON.parse(response.body ?? 'null'),
});

/** A production deployment dave asked for, waiting for two approvals. */
async function pendingDeployment(): Promise<string> {
  const event = httpEvent('not-found', {
    method: 'POST',
    path: '/v1/deployments',
    routeKey: 'POST /v1/deployments',
    token: dave,
    body: { app: 'shop', environment: 'production', tag: '1.5.0' },
  });
  const { status, body } = parsed(await routes.create(event, lambdaContext()));
  expect(status).toBe(202);
  expect(body.deployment.state).toBe('PENDING_APPROVAL');
  return body.deployment.id;
}

/** The form-encoded body Slack posts for a button press (Slack API docs, "Handling user interaction"). */
function pressBody(user: string, action: 'slipway.approve' | 'slipway.reject', id: string): string {
  const payload = {
    type: 'block_actions',
    user: { id: user },
    actions: [{ action_id: action, value: id }],
    response_url: slackUrl,
    message: { ts: '1732356000.000100', blocks: [{ type: 'header' }, { type: 'actions', elements: [] }] },
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function signed(body: string, timestamp = Math.floor(clock.getTime() / 1000), secret = SIGNING_SECRET) {
  const signature = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `v0=${signature}` };
}

async function press(body: string, headers: Record<string, string>) {
  const event = httpEvent('not-found', {
    method: 'POST',
    path: '/v1/slack/interactions',
    routeKey: 'POST /v1/slack/interactions',
    token: null,
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
  return parsed(await routes.slack(event, lambdaContext()));
}

const approvalsOf = async (id: string) => (await store.get(id))?.approvals.by ?? [];
const slackRoute = async () => (await trail.entries()).filter((entry) => entry.action === 'slackInteractions');

describe('POST /v1/slack/interactions', () => {
  it('refuses a bad signature and an old timestamp before reading the payload, and records nothing', async () => {
    // Given a deployment waiting for approval
    const id = await pendingDeployment();
    const body = pressBody('U0BOB', 'slipway.approve', id);

    // When the press is signed with another secret, or was signed six minutes ago
    const forged = await press(body, signed(body, undefined, 'another-secret'));
    const stale = await press(body, signed(body, Math.floor(clock.getTime() / 1000) - 360));

    // Then both are 401, no approval is recorded and nothing is posted to Slack
    expect(forged).toMatchObject({
      status: 401,
      body: { error: { message: expect.stringMatching(/does not match/) } },
    });
    expect(stale).toMatchObject({ status: 401, body: { error: { message: expect.stringMatching(/tolerance/) } } });
    expect(await approvalsOf(id)).toEqual([]);
    expect(received).toEqual([]);
  });

  it.each([
    [
      'an unmapped user',
      'U0EVE',
      403,
      'Slack user U0EVE is not mapped to a Slipway principal (notifications.slack.approvers)',
    ],
    ['the requester', 'U0DAVE', 403, 'dave requested deployment ID and cannot approve it too'],
    ['a viewer', 'U0VERA', 403, 'vera (Slack user U0VERA) may not approve: roles viewer do not grant approve'],
    ['an approver of another app', 'U0SAM', 403, 'token sam may act on apps blog only, not shop'],
  ])('refuses %s, says why beside the message, and audits the refusal', async (_who, user, status, why) => {
    // Given a deployment waiting for approval
    const id = await pendingDeployment();
    const body = pressBody(user, 'slipway.approve', id);

    // When the user presses Approve
    const answer = await press(body, signed(body));

    // Then it is refused, no approval is recorded, and Slack is told why without the message changing
    const reason = why.replace('ID', id);
    expect(answer.status).toBe(status);
    expect(answer.body.error.message).toBe(reason);
    expect(await approvalsOf(id)).toEqual([]);
    expect(received).toEqual([
      {
        path: RESPONSE_PATH,
        body: {
          replace_original: false,
          response_type: 'ephemeral',
          thread_ts: '1732356000.000100',
          text: `Not done: ${reason}`,
        },
      },
    ]);
    const [entry] = await slackRoute();
    expect(entry).toMatchObject({
      decision: 'denied',
      target: { slackUser: user, id },
      outcome: { result: 'refused', status },
    });
  });

  it('records exactly one approval from a mapped approver, updates the message in place, and audits both names', async () => {
    // Given a deployment waiting for two approvals
    const id = await pendingDeployment();
    const body = pressBody('U0BOB', 'slipway.approve', id);

    // When bob presses Approve
    const answer = await press(body, signed(body));

    // Then one approval by bob is recorded, and nothing is started on ECS yet
    expect(answer.status).toBe(200);
    expect(answer.body.deployment).toMatchObject({ state: 'PENDING_APPROVAL' });
    expect(await approvalsOf(id)).toEqual([{ by: 'bob', at: clock.toISOString() }]);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    // And the message is replaced with who approved and when, the buttons kept for the second approver
    const text = `✅ Approved by <@U0BOB> (bob) at ${clock.toISOString()}: 1 of 2, now PENDING_APPROVAL`;
    expect(received).toEqual([
      {
        path: RESPONSE_PATH,
        body: {
          replace_original: true,
          text,
          blocks: [
            { type: 'header' },
            { type: 'actions', elements: [] },
            { type: 'context', elements: [{ type: 'mrkdwn', text }] },
          ],
        },
      },
    ]);
    // And the trail names the Slack user and the principal it mapped to
    const [entry] = await slackRoute();
    expect(entry).toMatchObject({
      actor: 'bob',
      decision: 'allowed',
      target: { slackUser: 'U0BOB', principal: 'bob', id, decision: 'approve' },
      outcome: { result: 'succeeded', status: 200 },
    });
  });

  it('ends a rejected deployment like a cancel, recorded with the Slack user, and answers a later press in the thread', async () => {
    // Given a deployment waiting for approval
    const id = await pendingDeployment();
    const reject = pressBody('U0BOB', 'slipway.reject', id);

    // When bob presses Reject
    const answer = await press(reject, signed(reject));

    // Then it is cancelled by bob, and the message loses its buttons
    expect(answer.status).toBe(200);
    expect(await store.get(id)).toMatchObject({ state: 'CANCELLED' });
    expect(received[0]?.body).toMatchObject({
      replace_original: true,
      text: `🚫 Rejected by <@U0BOB> (bob) at ${clock.toISOString()}`,
      blocks: [{ type: 'header' }, { type: 'context' }],
    });

    // When someone presses Approve on the decided deployment
    const late = pressBody('U0BOB', 'slipway.approve', id);
    const again = await press(late, signed(late));

    // Then it is a 409, never a 500, told beside the message
    expect(again.status).toBe(409);
    expect(received[1]?.body).toMatchObject({ replace_original: false, text: expect.stringMatching(/^Not done: /) });
    expect((await slackRoute()).map((entry) => entry.target.slackUser)).toEqual(['U0BOB', 'U0BOB']);
  });

  it('names the field of a payload that is not an interaction Slipway sent', async () => {
    // Given a signed press whose action is not one of Slipway's buttons
    const body = pressBody('U0BOB', 'slipway.approve', 'dep-1').replace('slipway.approve', 'slipway.deploy');

    // When it is posted
    const answer = await press(body, signed(body));

    // Then it is a 400 naming the field
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/^body\.payload\.actions\.0\.action_id: /);
  });
});
