import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { findSecretLikeValues } from '../../lib/config/secret-scan';
import { type EmbeddedServer, startS3rver } from '../../lib/local/servers';
import { httpEvent, lambdaContext } from '../support/http';
import { packageStage, readTemplate } from '../support/package';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';

/**
 * Secrets never leak: not into logs (at debug level, with event logging on), error bodies, records,
 * notifications or the packaged template. Real handlers and the real worker run with Secrets Manager,
 * DynamoDB and SNS mocked, Slack and S3 served on 127.0.0.1, PostgreSQL a throwaway cluster; every byte
 * they write or answer is searched for each secret value, as is and as JSON, base64 and URL encode it.
 * A rotated secret is picked up once its cache expires, with no restart.
 */

// The logger reads these when it is built: every module that loads it (captureLogs' too) is imported after. Its level must be
// DEBUG from the start, as each invocation after a handler's first resets the level to the initial one.
process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
const { captureLogs } = await import('../support/logs');
const { memoryAudit } = await import('../support/audit');
const { createS3Client } = await import('../../lib/aws/clients/s3');
const { config: stageConfig } = await import('../../lib/wiring/config');
const { webhookSecret } = await import('../../lib/wiring/releases');
const { notificationPublisher } = await import('../../lib/notify/notifications');
const listApps = await import('../../functions/http/list-apps');
const registryWebhook = await import('../../functions/http/registry-webhook');
const { main: workerMain } = await import('../../lib/worker/cli');

const secretsManager = mockClient(SecretsManagerClient);
const documents = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);

// ---- the secret values: each ends in a random tail found nowhere else -------------------------------

const tail = () => randomBytes(8).toString('hex');
const TOKEN = mintToken();
const ROTATED_TOKEN = mintToken();
const STRANGER_TOKEN = mintToken();
const SIGNING_KEY = `whsec "quoted" \\ ü ${tail()}`;
const DB_PASSWORD = `Pw 'q"$\\ü%@:/#-${tail()}`;
const WRONG_DB_PASSWORD = `Wrong 'q"$\\ü%@:/#-${tail()}`;
const CORRUPT_TOKENS_DOCUMENT = `{"tokens": [ oops ${tail()}`;
const SLACK_PATH = `/services/T0SLIPWAY/B0SECRETS/${tail()}`;
const ROTATED_SLACK_PATH = `/services/T0SLIPWAY/B0SECRETS/${tail()}`;

const SLACK_SECRET = 'slipway/test-slack-webhook';
const SIGNING_SECRET = 'slipway/test-registry-signing';
const DB_SECRET = 'slipway/test-shop-db-dump';
const WRONG_DB_SECRET = 'slipway/test-shop-db-dump-wrong';

const tokensDocument = (tokens: Array<[string, string]>) =>
  JSON.stringify({
    tokens: tokens.map(([name, token]) => ({
      name,
      sha256: hashToken(token),
      roles: ['admin'],
      createdAt: '2026-11-22T03:00:00.000Z',
    })),
  });

/** Every way a value could show up in text: as is, JSON-escaped, base64, URL-encoded, and its random tail. */
function formsOf(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = [
    secret,
    JSON.stringify(secret).slice(1, -1),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    encodeURIComponent(secret),
    /[0-9a-f]{16}$/.exec(secret)?.[0],
  ];
  return [...new Set(forms.filter((form): form is string => typeof form === 'string' && form.length >= 8))];
}

// ---- the mocked Secrets Manager, in the shape GetSecretValue answers ----------------------------------

const stored = new Map<string, string>();
let secretsFail: Error | undefined;

function answerGetSecretValue(input: GetSecretValueCommandInput) {
  if (secretsFail) throw secretsFail;
  const id = input.SecretId ?? '';
  const value = stored.get(id);
  if (value === undefined) {
    throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
  }
  return {
    ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`,
    Name: id,
    VersionId: randomUUID(),
    SecretString: value,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: new Date('2026-11-22T03:00:00Z'),
  };
}

// ---- what the code under test wrote or answered ------------------------------------------------------

/** What this test saw leave the code: logs, answers, records written, notifications sent, posts to Slack. */
let seen: string[] = [];
/** The audit trail of every route built here: an entry holds error messages, so it is scanned too. */
const audited = memoryAudit();

function everythingSent(): string[] {
  return [
    ...seen,
    ...audited.entries.map((entry) => JSON.stringify(entry)),
    ...documents.commandCalls(UpdateCommand).map((call) => JSON.stringify(call.args[0].input)),
    ...sns.commandCalls(PublishCommand).map((call) => JSON.stringify(call.args[0].input)),
    ...slack.received.map((request) => request.body),
  ];
}

/** The secrets found in what was seen, by name and form: none, or the test fails naming them. */
function leaks(secrets: Record<string, string>): string[] {
  const haystack = everythingSent().join('\n');
  return Object.entries(secrets).flatMap(([name, value]) =>
    formsOf(value)
      .filter((form) => haystack.includes(form))
      .map((form) => `${name} (as ${JSON.stringify(form)})`),
  );
}

const ALL_SECRETS = () => ({
  token: TOKEN,
  rotatedToken: ROTATED_TOKEN,
  strangerToken: STRANGER_TOKEN,
  tokensDocument: tokensDocument([['ci', TOKEN]]),
  rotatedTokensDocument: tokensDocument([['ci-2027', ROTATED_TOKEN]]),
  corruptTokensDocument: CORRUPT_TOKENS_DOCUMENT,
  signingKey: SIGNING_KEY,
  dbPassword: DB_PASSWORD,
  wrongDbPassword: WRONG_DB_PASSWORD,
  slackUrl: slackUrl(SLACK_PATH),
  rotatedSlackUrl: slackUrl(ROTATED_SLACK_PATH),
});

// ---- Slack on 127.0.0.1 ------------------------------------------------------------------------------

const slack = {
  server: undefined as Server | undefined,
  port: 0,
  status: 500,
  received: [] as Array<{ path: string; body: string }>,
};
const slackUrl = (path: string) => `http://127.0.0.1:${slack.port}${path}`;

async function startSlack() {
  slack.server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      slack.received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      // Slack answers a failure with a plain-text reason.
      response.writeHead(slack.status, { 'content-type': 'text/plain' });
      response.end(slack.status === 200 ? 'ok' : 'invalid_token');
    });
  });
  await new Promise<void>((resolve) => slack.server?.listen(0, '127.0.0.1', resolve));
  slack.port = (slack.server.address() as AddressInfo).port;
}

// ---- the clock Powertools' secret cache reads --------------------------------------------------------

// Only ever moves forward, across tests, so that nothing cached in an earlier test is fresh in a later one.
let clock = Date.now();

/** Only Date is faked: sockets, child processes and the SDK keep their real timers. */
function fakeClock() {
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  jest.setSystemTime(clock);
}

function elapse(seconds: number) {
  clock += seconds * 1000;
  jest.setSystemTime(clock);
}

// ---- requests --------------------------------------------------------------------------------------

const listAppsSample = JSON.parse(readFileSync('events/http.list-apps.json', 'utf8')) as APIGatewayProxyEventV2;
const webhookSample = JSON.parse(readFileSync('events/http.registry-webhook.json', 'utf8')) as APIGatewayProxyEventV2;

async function invoke(
  handler: (event: APIGatewayProxyEventV2, context: ReturnType<typeof lambdaContext>) => Promise<unknown>,
  event: APIGatewayProxyEventV2,
): Promise<{ status: number; body: string }> {
  const { result, output } = await captureLogs(
    async () => (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2,
  );
  seen.push(output, JSON.stringify(result));
  return { status: result.statusCode ?? 0, body: String(result.body ?? '') };
}

const getApps = (shape: Parameters<typeof httpEvent>[1] = {}) =>
  invoke(listApps.handler as never, httpEvent(listAppsSample, { token: null, ...shape }));

// ---- shared setup ------------------------------------------------------------------------------------

beforeAll(async () => {
  await startSlack();
});

afterAll(async () => {
  slack.server?.closeAllConnections();
  await new Promise((resolve) => slack.server?.close(resolve));
});

beforeEach(() => {
  seen = [];
  slack.received = [];
  slack.status = 500;
  secretsFail = undefined;
  stored.clear();
  secretsManager.reset();
  documents.reset();
  sns.reset();
  secretsManager.on(GetSecretValueCommand).callsFake(answerGetSecretValue);
  documents.on(QueryCommand).resolves({ Items: [] });
  sns.on(PublishCommand).resolves({ MessageId: randomUUID() });
});

afterEach(() => {
  jest.useRealTimers();
});

// ---- API tokens ----------------------------------------------------------------------------------------

describe('API tokens (the tokens secret, through GET /v1/apps as deployed)', () => {
  const config = stageConfig();
  const TTL = config.auth.tokenCacheSeconds;

  beforeEach(() => {
    stored.set(config.auth.tokensSecret, tokensDocument([['ci', TOKEN]]));
    fakeClock();
    // Whatever an earlier test cached has expired.
    elapse(TTL + 3_600);
  });

  it('answers a valid, a wrong, a missing and a misplaced token without a trace of any token in logs or bodies', async () => {
    // when the route is called with the token, with a stranger's, with none, and with it in the wrong places
    const valid = await getApps({ token: TOKEN });
    const wrong = await getApps({ token: STRANGER_TOKEN });
    const missing = await getApps();
    const basic = await getApps({
      headers: { authorization: `Basic ${Buffer.from(`ci:${TOKEN}`).toString('base64')}` },
    });
    const notYetValid = await getApps({ headers: { authorization: `bearer ${ROTATED_TOKEN}` } });

    // then each is answered as it should be
    expect([valid.status, wrong.status, missing.status, basic.status, notYetValid.status]).toEqual([
      200, 401, 401, 401, 401,
    ]);
    expect(JSON.parse(wrong.body)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    // and each event was logged with its headers (so redaction, not silence, kept the tokens out)
    expect(seen.join('').match(/"authorization":"\[REDACTED\]"/g)).toHaveLength(4);
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });

  it('reads a rotated secret once its cache has expired, with no restart: old token works until then, new one after', async () => {
    // given the token works and the secret has been read
    expect((await getApps({ token: TOKEN })).status).toBe(200);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    // when the secret is rotated: a new token added, the old one removed
    stored.set(config.auth.tokensSecret, tokensDocument([['ci-2027', ROTATED_TOKEN]]));

    // then within auth.tokenCacheSeconds the cached document still decides
    elapse(Math.max(TTL - 1, 0));
    expect((await getApps({ token: TOKEN })).status).toBe(TTL > 0 ? 200 : 401);
    // and once it has passed, the new token is accepted and the old refused, from one new read
    elapse(2);
    expect((await getApps({ token: ROTATED_TOKEN })).status).toBe(200);
    expect((await getApps({ token: TOKEN })).status).toBe(401);
    if (TTL > 0) expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });

  it('fails closed with a bare 5xx, naming no value, when the secret is unreadable, not JSON or not a token document', async () => {
    // given a corrupt secret
    stored.set(config.auth.tokensSecret, CORRUPT_TOKENS_DOCUMENT);
    const notJson = await getApps({ token: TOKEN });

    // and then one whose entries are not tokens, a value in each field
    stored.set(
      config.auth.tokensSecret,
      JSON.stringify({ tokens: [{ name: 'ci', sha256: TOKEN, roles: [SIGNING_KEY] }] }),
    );
    elapse(TTL + 1);
    const notTokens = await getApps({ token: TOKEN });

    // and then one Secrets Manager refuses to read
    secretsFail = new SecretsManagerServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: `User: arn:aws:sts::123456789012:assumed-role/slipway-prod-listApps-us-east-1-lambdaRole/x is not authorized to perform: secretsmanager:GetSecretValue on resource: ${config.auth.tokensSecret}`,
    });
    elapse(TTL + 1);
    const refused = await getApps({ token: TOKEN });

    // then every one is refused without saying why to the caller
    for (const answer of [notJson, notTokens, refused]) {
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(answer.body).error.message).toMatch(/^the request failed on the server; quote request id /);
    }
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });
});

// ---- the registry webhook's signing key --------------------------------------------------------------

describe('the registry webhook signing key (POST /v1/webhooks/registry)', () => {
  const NOW = new Date('2026-11-22T03:00:00Z');
  const handler = registryWebhook.makeHandler({
    audit: audited.audit,
    releases: {
      targetsOf: () => [],
      onPush: async () => {
        throw new Error('no push is released in this test');
      },
    },
    deliveries: {
      remember: async () => {
        throw new Error('no delivery is recorded in this test');
      },
      forget: async () => undefined,
    },
    secret: webhookSecret(SIGNING_SECRET),
    schemes: ['slipway', 'github'],
    toleranceSeconds: 300,
    resolve: async () => {
      throw new Error('no tag is resolved in this test');
    },
    now: () => NOW,
  });

  const body = webhookSample.body as string;
  const signed = (key: string, at = NOW) => {
    const t = Math.floor(at.getTime() / 1000);
    return `t=${t},sha256=${createHmac('sha256', key).update(`${t}.`).update(body).digest('hex')}`;
  };
  const post = (headers: Record<string, string | undefined>) =>
    invoke(handler as never, httpEvent(webhookSample, { headers: { 'x-slipway-signature': undefined, ...headers } }));

  beforeEach(() => {
    stored.set(SIGNING_SECRET, SIGNING_KEY);
  });

  it('checks signatures, good, forged, stale and missing, without the key in logs or bodies', async () => {
    const before = audited.entries.length;
    // when deliveries are signed with the key, with another, too long ago, GitHub's way, and not at all
    const good = await post({ 'x-slipway-signature': signed(SIGNING_KEY) });
    const forged = await post({ 'x-slipway-signature': signed(`not ${SIGNING_KEY}`) });
    const stale = await post({ 'x-slipway-signature': signed(SIGNING_KEY, new Date(NOW.getTime() - 3_600_000)) });
    // (GitHub's scheme takes GitHub's package event, published at NOW, with its delivery id)
    const packageEvent = readFileSync('test/fixtures/webhooks/ghcr.package-published.json', 'utf8');
    const github = await invoke(
      handler as never,
      httpEvent(webhookSample, {
        headers: {
          'x-slipway-signature': undefined,
          'x-github-event': 'package',
          'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          'x-hub-signature-256': `sha256=${createHmac('sha256', SIGNING_KEY).update(packageEvent).digest('hex')}`,
        },
        body: packageEvent,
      }),
    );
    const unsigned = await post({});

    // then
    expect([good.status, forged.status, stale.status, github.status, unsigned.status]).toEqual([
      202, 401, 401, 202, 401,
    ]);
    // and the trail holds each signed delivery, and the refused ones once for their address and minute
    expect(audited.entries.slice(before).map((entry) => [entry.outcome.status, entry.sampled])).toEqual([
      [202, undefined],
      [401, true],
      [202, undefined],
    ]);
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });
});

// ---- the Slack webhook URL -----------------------------------------------------------------------------

describe('the Slack webhook URL (the notification publisher every function and the worker use)', () => {
  const notification = {
    subject: 'Slipway: shop/production deploy FAILED',
    type: 'deployment.state',
    app: 'shop',
    environment: 'production',
    state: 'FAILED',
    body: { deployment: { id: 'dep-1', reason: 'release v2.4.0' } },
  };
  const publisher = () =>
    notificationPublisher({
      sns: new SNSClient({ region: 'us-east-1' }),
      topicArn: 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications',
      secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
      slackWebhookSecret: SLACK_SECRET,
    });
  const publish = async (to: ReturnType<typeof publisher>) => {
    const { output } = await captureLogs(() => to.publish(notification));
    seen.push(output);
  };

  beforeEach(() => {
    stored.set(SLACK_SECRET, slackUrl(SLACK_PATH));
  });

  it('is never logged when Slack answers 500, is unreachable, or the secret cannot be read', async () => {
    // given Slack failing
    await publish(publisher());
    // and a URL nothing listens on
    stored.set(SLACK_SECRET, `http://127.0.0.1:9${SLACK_PATH}`);
    await publish(publisher());
    // and a secret Secrets Manager refuses
    secretsFail = new ResourceNotFoundException({
      message: "Secrets Manager can't find the specified secret.",
      $metadata: {},
    });
    await publish(publisher());

    // then Slack was tried (with retries), the topic told every time, and nothing names the URL
    expect(slack.received.length).toBeGreaterThanOrEqual(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
    expect(seen.join('')).toContain('slack notification not sent');
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });

  it('follows a rotated URL once the five-minute cache has expired, with no restart', async () => {
    // given a publisher that has posted to the first URL
    fakeClock();
    slack.status = 200;
    const running = publisher();
    await publish(running);

    // when the URL is rotated
    stored.set(SLACK_SECRET, slackUrl(ROTATED_SLACK_PATH));
    elapse(299);
    await publish(running);
    elapse(2);
    await publish(running);

    // then it kept the cached URL until it expired, then used the new one
    expect(slack.received.map((request) => request.path)).toEqual([SLACK_PATH, SLACK_PATH, ROTATED_SLACK_PATH]);
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });
});

// ---- a database password, through the worker task --------------------------------------------------------

describe('a database password (the worker task dumping PostgreSQL with the credentials secret)', () => {
  const BUCKET = 'slipway-test-secrets';
  let cluster: ThrowawayPostgres;
  let s3Server: EmbeddedServer;
  let workDir: string;
  const records = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'slipway-secrets-'));
    cluster = await startThrowawayPostgres({ password: DB_PASSWORD });
    s3Server = await startS3rver(join(workDir, 's3'));
    await createS3Client({ AWS_ENDPOINT_URL_S3: s3Server.endpoint }).send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  afterAll(async () => {
    await cluster?.stop();
    await s3Server?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    const dbSecret = (password: string) =>
      JSON.stringify({ engine: 'postgres', ...cluster.connection, password, dbname: 'postgres' });
    stored.set(DB_SECRET, dbSecret(DB_PASSWORD));
    stored.set(WRONG_DB_SECRET, dbSecret(WRONG_DB_PASSWORD));
    stored.set(SLACK_SECRET, slackUrl(SLACK_PATH));
    // The backup store's records, as GetItem and a conditional UpdateItem (ALL_NEW) see them.
    documents.on(GetCommand).callsFake((input: { Key: { pk: string } }) => {
      const item = records.get(input.Key.pk);
      return { Item: item ? { ...item } : undefined };
    });
    documents.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
      const key = (input.Key as { pk: string }).pk;
      const current = records.get(key) ?? {};
      const updated = { ...current };
      // SET #f0 = :f0, #f1 = :f1 …; #status is the condition's.
      for (const [placeholder, field] of Object.entries(input.ExpressionAttributeNames ?? {})) {
        if (placeholder !== '#status') updated[field] = input.ExpressionAttributeValues?.[`:${placeholder.slice(1)}`];
      }
      records.set(key, updated);
      return { Attributes: { ...updated } };
    });
  });

  /** Queues a dump as the control plane does, then runs `slipway-worker run-job` as the task does. */
  async function runDump(credentialsSecret: string) {
    const id = `bkp-${randomUUID()}`;
    const now = new Date().toISOString();
    records.set(`BACKUP#${id}`, {
      pk: `BACKUP#${id}`,
      sk: 'BACKUP',
      id,
      kind: 'postgres-dump',
      database: 'shop-db',
      status: 'QUEUED',
      trigger: 'schedule',
      runner: 'ecs',
      bucket: BUCKET,
      prefix: `dumps/shop-db/${id}`,
      credentialsSecret,
      createdAt: now,
      updatedAt: now,
    });
    const lines: string[] = [];
    const env = {
      ...process.env,
      STATE_TABLE: 'slipway-test-state',
      NOTIFICATIONS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications',
      SLACK_WEBHOOK_SECRET_ID: SLACK_SECRET,
      SLIPWAY_PG_BIN_DIR: cluster.binDir,
      SLIPWAY_HEARTBEAT_FILE: join(workDir, `${id}.heartbeat`),
      AWS_ENDPOINT_URL_S3: s3Server.endpoint,
    };
    const { result: exitCode, output } = await captureLogs(() =>
      workerMain(['run-job', '--job', JSON.stringify({ type: 'backup', backupId: id })], {
        out: (line) => lines.push(line),
        err: (line) => lines.push(line),
        env,
      }),
    );
    seen.push(output, ...lines);
    return { id, exitCode, lines, record: [...records.values()].find((record) => record.id === id) };
  }

  it('dumps with the password read from Secrets Manager, and nothing it writes or sends holds it', async () => {
    // when the worker dumps the database
    const { exitCode, record } = await runDump(DB_SECRET);

    // then the dump is stored and recorded
    expect({ exitCode, status: record?.status }).toEqual({ exitCode: 0, status: 'AVAILABLE' });
    // and neither the manifest, the records, the notifications nor the logs hold the password
    const s3 = createS3Client({ AWS_ENDPOINT_URL_S3: s3Server.endpoint });
    const manifest = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: record?.manifestKey as string }));
    seen.push(await (manifest.Body as { transformToString: () => Promise<string> }).transformToString());
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });

  it('fails on a wrong password with PostgreSQL’s reason, and neither password in the reason, logs or notifications', async () => {
    // when the worker dumps with credentials the server refuses
    const { exitCode, record, lines } = await runDump(WRONG_DB_SECRET);

    // then the job fails with the server's own words
    expect({ exitCode, status: record?.status }).toEqual({ exitCode: 1, status: 'FAILED' });
    expect(String(record?.reason)).toMatch(/password authentication failed/);
    expect(lines.join('\n')).toMatch(/FAILED/);
    // and nothing anywhere names either password
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });

  it('fails on a secret that is not JSON without quoting it', async () => {
    // given a credentials secret that is the password alone
    stored.set(DB_SECRET, DB_PASSWORD);

    // when / then
    const { record } = await runDump(DB_SECRET);
    expect(record?.status).toBe('FAILED');
    expect(record?.reason).toBe('the database secret is not JSON');
    expect(leaks(ALL_SECRETS())).toEqual([]);
  });
});

// ---- the packaged template and bundles -------------------------------------------------------------------

describe('the packaged prod stack', () => {
  let dir: string | undefined;
  // Secrets a developer might have in their shell when they package: none may end up in what ships.
  const environment = {
    SLIPWAY_API_TOKEN: TOKEN,
    SLACK_WEBHOOK_URL: `https://hooks.slack.com${SLACK_PATH}`,
    REGISTRY_WEBHOOK_SECRET: SIGNING_KEY,
    PGPASSWORD: DB_PASSWORD,
  };

  beforeAll(async () => {
    const previous = Object.fromEntries(Object.keys(environment).map((name) => [name, process.env[name]]));
    Object.assign(process.env, environment);
    try {
      ({ dir } = await packageStage('prod'));
    } finally {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds no secret value of these tests, and nothing that looks like a credential', () => {
    // given the template and every function's bundle
    const packaged = dir as string;
    const template = readTemplate(packaged);
    seen.push(JSON.stringify(template));
    for (const zip of readdirSync(packaged).filter((name) => name.endsWith('.zip'))) {
      seen.push(execFileSync('unzip', ['-p', join(packaged, zip)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }));
    }

    // then
    expect(leaks({ ...ALL_SECRETS(), slackHooksUrl: environment.SLACK_WEBHOOK_URL })).toEqual([]);
    // A resource's own logical id (in DependsOn, Ref, GetAtt) is a name, however random it looks.
    const logicalIds = new Set(Object.keys(template.Resources));
    const valueAt = (path: Array<string | number>) =>
      path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)?.[key], template);
    const findings = findSecretLikeValues(template).filter((finding) => !logicalIds.has(String(valueAt(finding.path))));
    expect(findings).toEqual([]);
  });
});

// A test of the scan itself: the forms it looks for are found where they are.
describe('the leak scan', () => {
  it('finds a secret as is, JSON-escaped, base64 and by its tail', () => {
    for (const form of [
      DB_PASSWORD,
      JSON.stringify({ password: DB_PASSWORD }),
      Buffer.from(DB_PASSWORD).toString('base64'),
      `…${DB_PASSWORD.slice(-16)}`,
    ]) {
      seen = [form];
      expect(leaks({ dbPassword: DB_PASSWORD }).length).toBeGreaterThan(0);
    }
    seen = [];
  });
});
