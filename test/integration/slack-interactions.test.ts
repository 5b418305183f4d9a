import { createHmac } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
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
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { slackResponder } from '../../lib/notify/slack';
import { slackWebApi } from '../../lib/notify/slack-web-api';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { auditOn } from '../support/audit';
import { type FakeAws, fakeAws, REPOSITORY } from '../support/fake-ecs';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { createStateTable } from '../support/resources';

/**
 * Slack button presses replayed, signed as Slack signs them, against the real handler on a dynalite state
 * table; a node:http server on 127.0.0.1 stands in for Slack: the interaction's response_url, and the Web API's
 * users.info and chat.postMessage (Slack API docs, users.info and chat.postMessage: answers are HTTP 200 with `ok`).
 */

const TABLE = 'slipway-slack-interactions-test';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';
const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const RESPONSE_PATH = '/actions/T0SLIPWAY/1234567890/q8Vn3Xw7Lk2Rt9Zp';
const BOT_TOKEN = 'xoxb-bot-token-for-tests';
const CHANNEL = 'C0DEPLOYS';
const MESSAGE_TS = '1732356000.000100';
const WEB_API_TIMEOUT_MS = 300;

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
tokens.add('carol', ['approver']);
tokens.add('vera', ['viewer']);
tokens.entries.push({ name: 'sam', sha256: 'b'.repeat(64), roles: ['approver'], apps: ['blog'] });
const approvers = { U0DAVE: 'dave', U0BOB: 'bob', U0VERA: 'vera', U0SAM: 'sam' };
const approversByEmail = { 'carol@Example.COM': 'carol', 'mallory@example.com': 'carol' };

/** users.info as the stand-in answers it, by user id: Slack's user object, trimmed to what Slipway reads. */
const SLACK_USERS: Record<string, { status?: number; body?: unknown; delayMs?: number }> = {
  U0CAROL: {
    body: { ok: true, user: { id: 'U0CAROL', is_email_confirmed: true, profile: { email: 'Carol@Example.com' } } },
  },
  U0MALLORY: {
    body: { ok: true, user: { id: 'U0MALLORY', is_email_confirmed: false, profile: { email: 'mallory@example.com' } } },
  },
  U0EVE: { body: { ok: true, user: { id: 'U0EVE', is_email_confirmed: true, profile: { email: 'eve@example.com' } } } },
  U0LIMITED: { body: { ok: false, error: 'ratelimited' } },
  U0DOWN: { status: 503 },
  U0SLOW: { delayMs: WEB_API_TIMEOUT_MS * 3 },
};

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
type SlackRoute = ReturnType<typeof makeSlackInteractions>;
/** slack: notifications.slack without a bot token; slackWithBot: with one, pointed at the stand-in. */
let routes: { create: ReturnType<typeof makeCreate>; slack: SlackRoute; slackWithBot: SlackRoute };
let slack: Server;
let slackOrigin: string;
let slackUrl: string;
/** What the stand-in received: response_url posts and Web API calls, in order. */
const received: Array<{ path: string; body: Record<string, unknown> }> = [];
const webCalls: Array<{ method: string; authorization: string | undefined; user?: string | null; body?: unknown }> = [];
/** chat.postMessage's answer: a bot that is not in the channel is refused (Slack API docs, chat.postMessage). */
let postMessageAnswer: Record<string, unknown> = { ok: true };

function answerJson(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  slack = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', slackOrigin);
      const text = Buffer.concat(chunks).toString('utf8');
      const authorization = request.headers.authorization;
      if (url.pathname === '/api/users.info') {
        const user = url.searchParams.get('user');
        webCalls.push({ method: 'users.info', authorization, user });
        const known = SLACK_USERS[user ?? ''] ?? { body: { ok: false, error: 'user_not_found' } };
        setTimeout(() => answerJson(response, known.status ?? 200, known.body ?? {}), known.delayMs ?? 0);
        return;
      }
      if (url.pathname === '/api/chat.postMessage') {
        webCalls.push({ method: 'chat.postMessage', authorization, body: JSON.parse(text) });
        answerJson(response, 200, postMessageAnswer);
        return;
      }
      received.push({ path: url.pathname, body: JSON.parse(text) });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  slackOrigin = `http://127.0.0.1:${(slack.address() as AddressInfo).port}`;
  slackUrl = `${slackOrigin}${RESPONSE_PATH}`;
});

afterAll(async () => {
  dynamodb.close();
  await new Promise((resolve) => slack.close(resolve));
});

beforeEach(async () => {
  tableCounter += 1;
  const tableName = `${TABLE}-${tableCounter}`;
  await createStateTable(dynamoClient, tableName);
  aws = fakeAws();
  sns = mockSns();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  clock = new Date('2026-11-23T10:00:00.000Z');
  received.length = 0;
  webCalls.length = 0;
  postMessageAnswer = { ok: true };
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
      slack: { signingSecret: async () => SIGNING_SECRET, approvers, approversByEmail },
      tokens: tokens.source,
      deployments,
      respond: slackResponder(),
      now: () => clock,
    }),
    slackWithBot: makeSlackInteractions({
      audit: trail.audit,
      slack: {
        signingSecret: async () => SIGNING_SECRET,
        approvers,
        approversByEmail,
        web: slackWebApi({
          token: async () => BOT_TOKEN,
          baseUrl: `${slackOrigin}/api/`,
          timeoutMs: WEB_API_TIMEOUT_MS,
        }),
      },
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
    channel: { id: CHANNEL, name: 'deploys' },
    message: { ts: MESSAGE_TS, blocks: [{ type: 'header' }, { type: 'actions', elements: [] }] },
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function signed(body: string, timestamp = Math.floor(clock.getTime() / 1000), secret = SIGNING_SECRET) {
  const signature = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `v0=${signature}` };
}

async function press(body: string, headers: Record<string, string>, route: SlackRoute = routes.slack) {
  const event = httpEvent('not-found', {
    method: 'POST',
    path: '/v1/slack/interactions',
    routeKey: 'POST /v1/slack/interactions',
    token: null,
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
  return parsed(await route(event, lambdaContext()));
}

const approvalsOf = async (id: string) => (await store.get(id))?.approvals.by ?? [];
const slackRoute = async () => (await trail.entries()).filter((entry) => entry.action === 'slackInteractions');

/** What the presser alone is shown beside the message, which stays as it was. */
const ephemeral = (reason: string) => ({
  path: RESPONSE_PATH,
  body: { replace_original: false, response_type: 'ephemeral', text: `Not done: ${reason}` },
});

/** Presses Approve as `user` and checks that it was answered 200 and refused for `reason`. */
async function refusedPress(user: string, id: string, reason: string, route?: SlackRoute) {
  const body = pressBody(user, 'slipway.approve', id);
  const answer = await press(body, signed(body), route);
  expect(answer).toEqual({ status: 200, body: { refused: { code: 'FORBIDDEN', message: reason } } });
}

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
      undefined,
      'Slack user U0EVE is not mapped to a Slipway principal (notifications.slack.approvers)',
    ],
    ['the requester', 'U0DAVE', 'dave', 'dave requested deployment ID and cannot approve it too'],
    ['a viewer', 'U0VERA', 'vera', 'vera (Slack user U0VERA) may not approve: roles viewer do not grant approve'],
    ['an approver of another app', 'U0SAM', 'sam', 'token sam may act on apps blog only, not shop'],
  ])(
    'answers %s 200, tells them alone why, and audits the refusal with both names',
    async (_who, user, principal, why) => {
      // Given a deployment waiting for approval
      const id = await pendingDeployment();
      const reason = why.replace('ID', id);

      // When the user presses Approve, then Slack is answered 200 with the refusal
      await refusedPress(user, id, reason);

      // And no approval is recorded, and the presser alone is told why, the message unchanged
      expect(await approvalsOf(id)).toEqual([]);
      expect(received).toEqual([ephemeral(reason)]);
      // And the trail records the refusal as denied, with the Slack user and the principal it mapped to
      const [entry] = await slackRoute();
      expect(entry).toMatchObject({
        actor: principal ?? `slack:${user}`,
        decision: 'denied',
        target: { slackUser: user, id, decision: 'approve', ...(principal ? { principal } : {}) },
        outcome: { result: 'refused', status: 200, code: 'FORBIDDEN', detail: reason },
      });
      expect(entry?.target.principal).toBe(principal);
    },
  );

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

  it('starts the ECS update on the last approval, and answers a press on the decided deployment in its thread', async () => {
    // Given a deployment bob approved, waiting for a second approval
    const id = await pendingDeployment();
    const first = pressBody('U0BOB', 'slipway.approve', id);
    expect((await press(first, signed(first), routes.slackWithBot)).status).toBe(200);

    // When carol, found by her confirmed e-mail, presses Approve a second later
    clock = new Date(clock.getTime() + 1_000);
    const last = pressBody('U0CAROL', 'slipway.approve', id);
    const started = performance.now();
    const answer = await press(last, signed(last), routes.slackWithBot);
    const elapsedMs = performance.now() - started;

    // Then the deployment starts on ECS, well within the three seconds Slack waits
    expect(answer.status).toBe(200);
    expect(answer.body.deployment).toMatchObject({ state: 'IN_PROGRESS' });
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(elapsedMs).toBeLessThan(3_000);
    // And users.info was asked about carol alone, with the bot token
    expect(webCalls).toEqual([{ method: 'users.info', authorization: `Bearer ${BOT_TOKEN}`, user: 'U0CAROL' }]);
    expect(received[1]?.body).toMatchObject({
      replace_original: true,
      text: `✅ Approved by <@U0CAROL> (carol) at ${clock.toISOString()}: 2 of 2, now IN_PROGRESS`,
      blocks: [{ type: 'header' }, { type: 'context' }],
    });

    // When bob presses Approve again on the decided deployment
    clock = new Date(clock.getTime() + 1_000);
    const again = await press(first, signed(first), routes.slackWithBot);

    // Then it is answered 200, said in the message's thread, and the approvals stay the two
    const reason = `deployment ${id} is not waiting for approval (IN_PROGRESS)`;
    expect(again).toEqual({ status: 200, body: { refused: { code: 'CONFLICT', message: reason } } });
    expect(webCalls[1]).toEqual({
      method: 'chat.postMessage',
      authorization: `Bearer ${BOT_TOKEN}`,
      body: { channel: CHANNEL, thread_ts: MESSAGE_TS, text: `Not done for <@U0BOB>: ${reason}` },
    });
    expect(received).toHaveLength(2);
    expect((await approvalsOf(id)).map((approval) => approval.by)).toEqual(['bob', 'carol']);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    // And the trail has carol by her e-mail, and bob's late press as refused
    const entries = await slackRoute();
    expect(entries.map((entry) => [entry.actor, entry.decision, entry.target.email])).toEqual([
      ['bob', 'allowed', undefined],
      ['carol', 'allowed', 'carol@example.com'],
      ['bob', 'denied', undefined],
    ]);
    expect(entries[2]?.outcome).toEqual({ result: 'refused', status: 200, code: 'CONFLICT', detail: reason });
  });

  it('tells the presser alone when the thread reply cannot be posted', async () => {
    // Given a cancelled deployment, and a bot that is not in the channel
    const id = await pendingDeployment();
    const reject = pressBody('U0BOB', 'slipway.reject', id);
    expect((await press(reject, signed(reject), routes.slackWithBot)).status).toBe(200);
    postMessageAnswer = { ok: false, error: 'not_in_channel' };

    // When bob presses Approve on it
    const late = pressBody('U0BOB', 'slipway.approve', id);
    const answer = await press(late, signed(late), routes.slackWithBot);

    // Then the thread reply was tried, and bob is told through response_url instead
    const reason = `deployment ${id} is not waiting for approval (CANCELLED)`;
    expect(answer).toEqual({ status: 200, body: { refused: { code: 'CONFLICT', message: reason } } });
    expect(webCalls.map((call) => call.method)).toEqual(['chat.postMessage']);
    expect(received[1]).toEqual(ephemeral(reason));
  });

  it.each([
    ['an unconfirmed e-mail', 'U0MALLORY', 'Slack user U0MALLORY has not confirmed their e-mail'],
    ['an e-mail not in approversByEmail', 'U0EVE', ''],
    ['users.info answering ok: false', 'U0LIMITED', 'users.info answered ratelimited'],
    ['users.info failing', 'U0DOWN', 'users.info answered HTTP 503'],
    ['users.info not answering in time', 'U0SLOW', `users.info did not answer within ${WEB_API_TIMEOUT_MS} ms`],
  ])('refuses a user with %s with a 200, never a 500', async (_what, user, lookup) => {
    // Given a deployment waiting for approval, and a bot token to look users up with
    const id = await pendingDeployment();
    const reason =
      lookup === ''
        ? `Slack user ${user} (eve@example.com) is not mapped to a Slipway principal (notifications.slack.approvers, approversByEmail)`
        : `Slack user ${user} is not in notifications.slack.approvers, and ${lookup}`;

    // When the user presses Approve, then it is refused with a 200
    await refusedPress(user, id, reason, routes.slackWithBot);

    // And nothing is approved, the user alone is told why, and the trail has the refusal
    expect(await approvalsOf(id)).toEqual([]);
    expect(webCalls.map((call) => [call.method, call.user])).toEqual([['users.info', user]]);
    expect(received).toEqual([ephemeral(reason)]);
    const [entry] = await slackRoute();
    expect(entry).toMatchObject({
      actor: `slack:${user}`,
      decision: 'denied',
      target: { slackUser: user, id },
      outcome: { result: 'refused', status: 200, detail: reason },
    });
  });

  it('ends a rejected deployment like a cancel, recorded with the Slack user, and answers a later press with a 200', async () => {
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

    // When someone presses Approve on the decided deployment, with no bot token to post in the thread
    clock = new Date(clock.getTime() + 1_000);
    const late = pressBody('U0BOB', 'slipway.approve', id);
    const again = await press(late, signed(late));

    // Then it is answered 200, never a 500, and told to the presser alone
    expect(again.status).toBe(200);
    expect(received[1]).toEqual(ephemeral(`deployment ${id} is not waiting for approval (CANCELLED)`));
    expect((await slackRoute()).map((entry) => [entry.target.slackUser, entry.decision])).toEqual([
      ['U0BOB', 'allowed'],
      ['U0BOB', 'denied'],
    ]);
  });

  it('answers a press on a deployment that does not exist with a 200', async () => {
    // Given no deployment of that id
    const body = pressBody('U0BOB', 'slipway.approve', 'dep-00000000-0000-4000-8000-00000000dead');

    // When bob presses Approve
    const answer = await press(body, signed(body));

    // Then it is a 200 naming the refusal, told to bob alone
    expect(answer).toMatchObject({ status: 200, body: { refused: { code: 'NOT_FOUND' } } });
    expect(received).toEqual([ephemeral(answer.body.refused.message)]);
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
