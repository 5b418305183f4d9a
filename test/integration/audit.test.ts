import { readFileSync } from 'node:fs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { makeHandler as makeListAudit } from '../../functions/http/list-audit';
import { type AuditEntry, auditTrail } from '../../lib/audit/trail';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { Conflict } from '../../lib/errors';
import { auditedRoute } from '../../lib/http/route-chain';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { AuditStore } from '../../lib/store/audit';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { createStateTable } from '../support/resources';

/**
 * The audit trail on dynalite: what the route chain records for a mutating request, whatever its
 * outcome, and `GET /v1/audit` reading it back, a day partition at a time, in pages.
 */

const TABLE = 'slipway-audit-test';
// requestContext.http.sourceIp of events/http.get-health.json, which every request here is made from.
const SOURCE_IP = JSON.parse(readFileSync('events/http.get-health.json', 'utf8')).requestContext.http.sourceIp;

let dynamodb: EmbeddedServer;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let documents: DynamoDBDocumentClient;
let tableName: string;
let tableCounter = 0;
let clock: Date;
let store: AuditStore;

const tokens = memoryTokenSource();
const alice = tokens.add('alice', ['deployer']);
const vera = tokens.add('vera', ['viewer']);
const root = tokens.add('root', ['admin']);
const scopedAdmin = mintToken();
tokens.entries.push({
  name: 'shop-admin',
  sha256: hashToken(scopedAdmin),
  roles: ['admin'],
  apps: ['shop'],
  createdAt: '2026-11-22T03:00:00.000Z',
});

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(() => dynamodb.close());

beforeEach(async () => {
  tableCounter += 1;
  tableName = `${TABLE}-${tableCounter}`;
  await createStateTable(dynamoClient, tableName);
  clock = new Date('2026-12-05T10:00:00.000Z');
  store = new AuditStore(documents, tableName, 400);
});

/** A mutating route as the handlers build it: the real chain, whose handler answers or throws as told. */
function takeBackupRoute(
  answer: () => Promise<{ status: number; body: unknown }>,
  audit = auditTrail(store, () => clock),
) {
  return auditedRoute(
    {
      name: 'takeBackup',
      access: 'deploy',
      scope: 'no-app',
      body: z.strictObject({ database: z.string().regex(/^[a-z][a-z0-9-]*$/) }),
    },
    { tokens: tokens.source, audit },
    answer,
  );
}

const post = (token: string | null, body: unknown) =>
  httpEvent('get-health', {
    method: 'POST',
    path: '/v1/backups',
    token,
    body,
    requestId: `req-${mintToken().slice(4, 12)}`,
  });

/** One request, a second after the last: entries made in the same millisecond have no order between them. */
async function call(handler: ReturnType<typeof takeBackupRoute>, event: ReturnType<typeof post>) {
  clock = new Date(clock.getTime() + 1_000);
  return (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
}

const listAudit = () => makeListAudit({ tokens: tokens.source, store, retentionDays: 400, now: () => clock });

async function readAudit(query: Record<string, string>, token = root) {
  const response = (await listAudit()(
    httpEvent('get-health', { method: 'GET', path: '/v1/audit', routeKey: 'GET /v1/audit', query, token }),
    lambdaContext(),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode, body: JSON.parse(String(response.body)) };
}

async function record(actor: string, at: string) {
  clock = new Date(at);
  await auditTrail(store, () => clock).record({
    source: 'automatic',
    actor,
    action: 'backup.take',
    decision: 'allowed',
    target: { database: 'shop-db' },
    outcome: { result: 'succeeded', code: 'CREATING' },
  });
}

describe('the route chain records every mutating request', () => {
  it('given a deployer, a viewer, no token and a bad body, when each posts, then four entries say who, what, allowed or denied, and how it ended', async () => {
    // (the refusal without a token is the one sampled for its address and minute: stamped with the minute, it comes first)
    // given
    const handler = takeBackupRoute(async () => ({
      status: 202,
      body: { backup: { id: 'bkp-1', status: 'CREATING' } },
    }));

    // when
    const answers = [
      await call(handler, post(alice, { database: 'shop-db' })),
      await call(handler, post(vera, { database: 'shop-db' })),
      await call(handler, post(null, { database: 'shop-db' })),
      await call(handler, post(alice, { database: 'Not A Name' })),
    ];

    // then
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 403, 401, 400]);
    const { status, body } = await readAudit({ since: '2026-12-05T00:00:00Z' });
    expect(status).toBe(200);
    const entries = body.entries as AuditEntry[];
    expect(
      entries.map(({ actor, decision, outcome }) => [actor, decision, outcome.result, outcome.status, outcome.code]),
    ).toEqual([
      ['anonymous', 'denied', 'refused', 401, 'UNAUTHENTICATED'],
      ['alice', 'allowed', 'succeeded', 202, undefined],
      ['vera', 'denied', 'refused', 403, 'FORBIDDEN'],
      ['alice', 'allowed', 'failed', 400, 'INVALID_INPUT'],
    ]);
    expect(entries[0]).toMatchObject({ at: '2026-12-05T10:00:00.000Z', sampled: true, sourceIp: SOURCE_IP });
    entries.shift();
    expect(entries[0]).toEqual({
      id: expect.any(String),
      at: '2026-12-05T10:00:01.000Z',
      source: 'http',
      actor: 'alice',
      roles: ['deployer'],
      action: 'takeBackup',
      decision: 'allowed',
      target: { database: 'shop-db', backupId: 'bkp-1' },
      outcome: { result: 'succeeded', status: 202 },
      requestId: expect.stringMatching(/^req-/),
      sourceIp: SOURCE_IP,
    });
    expect(entries[1]?.roles).toEqual(['viewer']);
    expect(entries[1]?.outcome.detail).toBe('this route needs the deploy permission, which roles viewer do not grant');
    expect(entries[2]?.target).toEqual({});
  });

  it('given a use case that refuses, when posted, then the entry holds the refusal the client saw', async () => {
    // given
    const handler = takeBackupRoute(async () => {
      throw new Conflict('bkp-0 of shop-db is still running');
    });

    // when
    const answer = await call(handler, post(alice, { database: 'shop-db' }));

    // then
    expect(answer.statusCode).toBe(409);
    const [entry] = (await readAudit({ since: '2026-12-05T00:00:00Z' })).body.entries as AuditEntry[];
    expect(entry?.target).toEqual({ database: 'shop-db' });
    expect(entry?.outcome).toEqual({
      result: 'failed',
      status: 409,
      code: 'CONFLICT',
      detail: 'bkp-0 of shop-db is still running',
    });
  });

  it('given the audit table failing, when a request succeeds, then the client still gets its answer', async () => {
    // given
    const broken = auditTrail(new AuditStore(documents, 'no-such-table', 400), () => clock);
    const handler = takeBackupRoute(async () => ({ status: 202, body: { backup: { id: 'bkp-2' } } }), broken);

    // when
    const answer = await call(handler, post(alice, { database: 'shop-db' }));

    // then
    expect(answer.statusCode).toBe(202);
    expect(JSON.parse(String(answer.body))).toEqual({ backup: { id: 'bkp-2' } });
  });

  it('given a GET route, when read, then nothing is recorded: reads are not actions', async () => {
    // when
    await readAudit({});
    await readAudit({});

    // then
    expect((await readAudit({ since: '2026-12-05T00:00:00Z' })).body.entries).toEqual([]);
  });
});

describe('GET /v1/audit', () => {
  it('given entries over three days, when read in pages of two, then every entry comes once, oldest first, and the last page has no cursor', async () => {
    // given
    const times = [
      '2026-12-03T23:59:59.999Z',
      '2026-12-04T00:00:00.000Z',
      '2026-12-04T12:00:00.000Z',
      '2026-12-05T09:00:00.000Z',
      '2026-12-05T09:30:00.000Z',
    ];
    for (const [index, at] of times.entries()) await record(`schedule-${index}`, at);
    clock = new Date('2026-12-05T10:00:00.000Z');

    // when
    const pages = [];
    let cursor: string | undefined;
    do {
      const { status, body } = await readAudit({
        since: '2026-12-03T00:00:00Z',
        limit: '2',
        ...(cursor ? { cursor } : {}),
      });
      expect(status).toBe(200);
      pages.push((body.entries as AuditEntry[]).map((entry) => entry.at));
      cursor = body.cursor;
    } while (cursor && pages.length < 10);

    // then
    expect(pages).toEqual([times.slice(0, 2), times.slice(2, 4), times.slice(4)]);
  });

  it('given actor, decision and action, when read, then only the entries matching all of them, in pages that resume after the last kept', async () => {
    // given: an admin and anonymous callers on two routes, then a day's schedule noise between them
    const handler = takeBackupRoute(async () => ({ status: 202, body: { backup: { id: 'bkp-9' } } }));
    await call(handler, post(root, { database: 'shop-db' }));
    for (const at of ['2026-12-05T10:00:10.000Z', '2026-12-05T10:00:20.000Z']) await record('schedule', at);
    clock = new Date('2026-12-05T10:01:30.000Z');
    await call(handler, post(null, { database: 'shop-db' }));
    await call(handler, post(root, { database: 'shop-db' }));
    clock = new Date('2026-12-05T10:02:30.000Z');
    await call(handler, post('slw_not-a-token', { database: 'shop-db' }));
    await call(handler, post(vera, { database: 'shop-db' }));
    clock = new Date('2026-12-05T10:05:00.000Z');

    // when
    const whose = async (query: Record<string, string>) => {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const { status, body } = await readAudit({
          since: '2026-12-05T00:00:00Z',
          limit: '1',
          ...query,
          ...(cursor ? { cursor } : {}),
        });
        expect(status).toBe(200);
        pages.push(
          (body.entries as AuditEntry[]).map((entry) => `${entry.actor} ${entry.decision} ${entry.outcome.status}`),
        );
        cursor = body.cursor;
      } while (cursor && pages.length < 10);
      return pages.flat();
    };

    // then
    expect(await whose({ actor: 'root' })).toEqual(['root allowed 202', 'root allowed 202']);
    expect(await whose({ decision: 'denied' })).toEqual([
      'anonymous denied 401',
      'anonymous denied 401',
      'vera denied 403',
    ]);
    expect(await whose({ actor: 'anonymous', action: 'takeBackup' })).toEqual([
      'anonymous denied 401',
      'anonymous denied 401',
    ]);
    expect(await whose({ action: 'backup.take' })).toEqual([
      'schedule allowed undefined',
      'schedule allowed undefined',
    ]);
    expect(await whose({ actor: 'nobody' })).toEqual([]);
    const refused = await readAudit({ decision: 'sometimes' });
    expect([refused.status, refused.body.error.message]).toEqual([400, 'query.decision: expected allowed or denied']);
  });

  it('given since and until, when read, then only the entries between them, both inclusive', async () => {
    // given
    for (const at of ['2026-12-04T08:00:00.000Z', '2026-12-04T09:00:00.000Z', '2026-12-04T10:00:00.000Z']) {
      await record('schedule', at);
    }

    // when
    const { body } = await readAudit({ since: '2026-12-04T09:00:00Z', until: '2026-12-04T10:00:00Z' });

    // then
    expect((body.entries as AuditEntry[]).map((entry) => entry.at)).toEqual([
      '2026-12-04T09:00:00.000Z',
      '2026-12-04T10:00:00.000Z',
    ]);
  });

  it('given an until far in the future, when read, then it answers what exists, reading no day after today', async () => {
    // given
    await record('schedule', '2026-12-05T09:00:00.000Z');
    clock = new Date('2026-12-05T10:00:00.000Z');
    const queries = jest.spyOn(documents, 'send');

    // when
    const { status, body } = await readAudit({ since: '2026-12-05T00:00:00Z', until: '9999-12-31T00:00:00Z' });

    // then: one query, for today's partition
    expect(status).toBe(200);
    expect((body.entries as AuditEntry[]).map((entry) => entry.actor)).toEqual(['schedule']);
    expect(queries).toHaveBeenCalledTimes(1);
    queries.mockRestore();
  });

  it('given no since, when read, then the last 24 hours', async () => {
    // given
    await record('old', '2026-12-04T09:59:00.000Z');
    await record('new', '2026-12-04T10:01:00.000Z');
    clock = new Date('2026-12-05T10:00:00.000Z');

    // when
    const { body } = await readAudit({});

    // then
    expect((body.entries as AuditEntry[]).map((entry) => entry.actor)).toEqual(['new']);
  });

  it('given an entry, when stored, then DynamoDB expires it after the retention', async () => {
    // given
    await record('schedule', '2026-12-05T09:00:00.000Z');

    // when
    const { Items } = await documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'AUDIT#2026-12-05' },
      }),
    );

    // then
    expect(Items).toHaveLength(1);
    expect(Items?.[0]?.expiresAt).toBe(Date.parse('2026-12-05T09:00:00.000Z') / 1000 + 400 * 86_400);
  });

  it('given an entry, when another is put under its time and id, then the first stays as it was: the store never overwrites', async () => {
    // given
    await record('schedule', '2026-12-05T09:00:00.000Z');
    const [first] = (await readAudit({ since: '2026-12-05T00:00:00Z' })).body.entries as AuditEntry[];
    if (!first) throw new Error('no entry recorded');

    // when a forged entry names the same time and id
    const replaced = await store.put({ ...first, actor: 'mallory', decision: 'denied' });

    // then DynamoDB refuses the put (attribute_not_exists(pk)), and the trail reads as before
    expect(replaced).toBe(false);
    expect((await readAudit({ since: '2026-12-05T00:00:00Z' })).body.entries).toEqual([first]);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    [
      'a deployments cursor',
      Buffer.from(
        JSON.stringify({ pk: 'DEPLOYMENT#1', sk: 'x', environmentKey: 'ENV#a#b', environmentSortKey: 'x' }),
      ).toString('base64url'),
    ],
    [
      'a cursor after until',
      Buffer.from(JSON.stringify({ pk: 'AUDIT#2026-12-09', sk: '2026-12-09T00:00:00.000Z#x' })).toString('base64url'),
    ],
    // Older than the retention: it would make the listing read a day partition for every day since.
    [
      'a cursor from 1970',
      Buffer.from(JSON.stringify({ pk: 'AUDIT#1970-01-01', sk: '1970-01-01T00:00:00.000Z#x' })).toString('base64url'),
    ],
  ])('given %s as cursor, when read, then 400 naming query.cursor', async (_what, cursor) => {
    // when
    const { status, body } = await readAudit({ since: '2026-12-04T00:00:00Z', cursor });

    // then
    expect(status).toBe(400);
    expect(body.error.code).toBe('INVALID_INPUT');
    expect(body.error.message).toMatch(/^query\.cursor: /);
  });

  it('given a deployer, a scoped admin and no token, when each reads, then 403, 403 naming the scope, and 401', async () => {
    // when
    const answers = [await readAudit({}, alice), await readAudit({}, scopedAdmin), await readAudit({}, 'slw_nope')];

    // then
    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 401]);
    expect(answers[1]?.body.error.message).toMatch(/shop/);
  });

  it('given a bad since, when read, then 400 naming query.since', async () => {
    // when
    const { status, body } = await readAudit({ since: 'yesterday' });

    // then
    expect(status).toBe(400);
    expect(body.error.message).toBe('query.since: expected an ISO 8601 time such as 2026-11-22T03:00:00Z');
  });
});
