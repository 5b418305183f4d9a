import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { makeHandler as makeGetEnvironment } from '../../functions/http/get-environment';
import { makeHandler as makeListBackups } from '../../functions/http/list-backups';
import { makeHandler as makeListRestores } from '../../functions/http/list-restores';
import { makeHandler as makeRunProbes } from '../../functions/schedules/run-probes';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import type { AnyRestoreRecord } from '../../lib/backup/records';
import { configSchema } from '../../lib/config/schema';
import { environmentView, type Reader } from '../../lib/deploy/environment-view';
import { probeTargets } from '../../lib/health/probe';
import { recordProbeResults } from '../../lib/health/probe-records';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { BackupStore, RestoreStore } from '../../lib/store/backups';
import { DeploymentStore } from '../../lib/store/deployments';
import { HealthStore } from '../../lib/store/health';
import { EnvironmentLocks } from '../../lib/store/locks';
import { type FakeAws, fakeAws } from '../support/fake-ecs';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { createStateTable } from '../support/resources';

/**
 * What the console reads beside the deployments, on a real state table (dynalite): each environment's health
 * checks as the probes last saw them (real probes of HTTP servers on 127.0.0.1, recorded by runProbes and shown
 * by GET /v1/apps/{app}/environments/{env}), and a database's restores and drills (GET /v1/restores).
 */

const TABLE = 'slipway-console-api-test';
let dynamodb: EmbeddedServer;
let documents: DynamoDBDocumentClient;
let health: Server;
let healthUrl: string;
let aws: FakeAws;
const tokens = memoryTokenSource();
const viewer = tokens.tokens.viewer;
const scoped = tokens.add('shop-only', ['viewer']);
Object.assign(tokens.entries.find((entry) => entry.name === 'shop-only') ?? {}, { apps: ['shop'] });

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  const client = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  await createStateTable(client, TABLE);
  health = createServer((request, response) => {
    const healthy = request.url === '/ready';
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: healthy ? 'healthy' : 'draining' }));
  });
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => health.close(resolve));
  await dynamodb.close();
});

beforeEach(() => {
  aws = fakeAws();
});
afterEach(() => aws.restore());

const configWithChecks = () =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend',
        containers: ['backend'],
        environments: {
          staging: {
            cluster: 'shop-staging',
            service: 'backend',
            health: [
              { name: 'ready', url: `${healthUrl}/ready`, expectJson: { path: 'status', equals: 'healthy' } },
              { name: 'deep', url: `${healthUrl}/deep`, timeoutMs: 2_000 },
            ],
          },
        },
      },
    },
  });

describe("each environment's health checks, as the probes last saw them", () => {
  it('are recorded by runProbes and shown with what the environment runs', async () => {
    // Given staging's two checks, one answered healthy and one 503, probed by runProbes on its schedule
    const config = configWithChecks();
    const store = new HealthStore(documents, TABLE);
    const checkedAt = new Date('2026-12-06T18:00:00.000Z');
    const probes = makeRunProbes({
      deadLetters: { send: async () => undefined },
      targets: probeTargets(config),
      options: { concurrency: 2 },
      publish: async () => ({ unpublished: 0 }),
      record: (results, at) => recordProbeResults(store, results, at),
      now: () => checkedAt,
    });
    const event = JSON.parse(readFileSync('events/schedule.run-probes.json', 'utf8'));
    await expect(probes(event, lambdaContext())).resolves.toMatchObject({
      handled: true,
      result: { checks: 2, failed: 1 },
    });

    // When the environment is read
    const getEnvironment = makeGetEnvironment({
      tokens: tokens.source,
      deployments: {
        environment: (app: string, env: string, reader: Reader) =>
          environmentView(
            {
              config,
              ecsFor: () => new ECSClient({ region: 'us-east-1' }),
              store: new DeploymentStore(documents, TABLE),
              locks: new EnvironmentLocks(documents, TABLE),
              health: store,
            },
            app,
            env,
            reader,
          ),
      },
    });
    const response = await getEnvironment(
      httpEvent('get-environment', {
        method: 'GET',
        path: '/v1/apps/shop/environments/staging',
        routeKey: 'GET /v1/apps/{app}/environments/{env}',
        pathParameters: { app: 'shop', env: 'staging' },
        token: viewer,
      }),
      lambdaContext(),
    );

    // Then it shows each check's last result beside what runs, and when they were checked
    expect(response.statusCode).toBe(200);
    const { environment } = JSON.parse(response.body ?? '{}');
    expect(environment.running).toMatchObject({ desiredCount: 2 });
    expect(environment.health).toEqual({
      checkedAt: '2026-12-06T18:00:00.000Z',
      checks: [
        { check: 'ready', url: `${healthUrl}/ready`, ok: true, status: 200, latencyMs: expect.any(Number) },
        {
          check: 'deep',
          url: `${healthUrl}/deep`,
          ok: false,
          status: 503,
          latencyMs: expect.any(Number),
          reason: expect.stringContaining('503'),
        },
      ],
    });
    // And the item goes a day after the check, should the environment leave the config
    const item = await store.get('shop', 'staging');
    expect(item?.checkedAt).toBe('2026-12-06T18:00:00.000Z');
  });

  it('are left out of the view of an environment not probed yet', async () => {
    const view = await environmentView(
      {
        config: configWithChecks(),
        ecsFor: () => new ECSClient({ region: 'us-east-1' }),
        store: new DeploymentStore(documents, TABLE),
        locks: new EnvironmentLocks(documents, TABLE),
        health: { get: async () => undefined },
      },
      'shop',
      'staging',
      { principal: 'test', requestId: 'r-1' },
    );
    expect(view.running).toMatchObject({ desiredCount: 2 });
    expect(view).not.toHaveProperty('health');
  });

  it('that cannot be recorded are counted, and the run still ends with its metrics published', async () => {
    const failing = { put: async () => Promise.reject(new Error('throttled')) };
    const results = [
      { app: 'shop', environment: 'staging', check: 'ready', url: 'http://127.0.0.1:1/ready', ok: true },
      { app: 'shop', environment: 'production', check: 'ready', url: 'http://127.0.0.1:1/ready', ok: true },
    ];
    await expect(recordProbeResults(failing, results, new Date())).resolves.toEqual({ unrecorded: 2 });
  });
});

describe('GET /v1/restores', () => {
  const restores = () => new RestoreStore(documents, TABLE);
  let minute = 0;
  /** An RDS restore of shop-db `minute` minutes after the first, a drill or one asked for. */
  async function restore(drill: boolean, status: 'AVAILABLE' | 'FAILED' = 'AVAILABLE'): Promise<AnyRestoreRecord> {
    minute += 1;
    const at = new Date(Date.parse('2026-12-01T03:00:00.000Z') + minute * 60_000).toISOString();
    const record: AnyRestoreRecord = {
      id: `rst-${randomUUID()}`,
      database: 'shop-db',
      source: { type: 'instance', identifier: 'shop-db' },
      from: { backupId: `bkp-${randomUUID()}`, snapshotIdentifier: 'slipway-shop-db-2026-12-01' },
      targetIdentifier: drill ? `slipway-drill-${minute}` : `shop-db-restored-${minute}`,
      region: 'us-east-1',
      status,
      requestedBy: drill ? 'slipway-drill' : 'ops',
      drill,
      createdAt: at,
      updatedAt: at,
      ...(status === 'AVAILABLE' ? { availableAt: at, durationSeconds: 600 + minute } : {}),
    };
    await restores().create(record);
    return record;
  }

  const handler = () =>
    makeListRestores({ tokens: tokens.source, store: restores(), databases: ['shop-db'], volumes: ['shop-uploads'] });
  async function list(query: Record<string, string>, token = viewer) {
    const response = await handler()(
      httpEvent('list-restores', { method: 'GET', path: '/v1/restores', query, token }),
      lambdaContext(),
    );
    return { status: response.statusCode, body: JSON.parse(response.body ?? '{}') };
  }

  it("gives a database's last drill among its restores, and pages on by the cursor", async () => {
    // Given shop-db's restores: drill, restore, drill, restore, restore (newest last)
    const firstDrill = await restore(true);
    await restore(false);
    const lastDrill = await restore(true, 'FAILED');
    const older = await restore(false);
    const newest = await restore(false);

    // Then its last drill is the newest drill, with its outcome
    const last = await list({ database: 'shop-db', drill: 'true', limit: '1' });
    expect(last.status).toBe(200);
    expect(last.body.restores.map((record: AnyRestoreRecord) => record.id)).toEqual([lastDrill.id]);
    expect(last.body.restores[0]).toMatchObject({ status: 'FAILED', drill: true });

    // And the next page, by the cursor, has the drill before it, and nothing is skipped or repeated
    const next = await list({ database: 'shop-db', drill: 'true', limit: '1', cursor: last.body.cursor });
    expect(next.body.restores.map((record: AnyRestoreRecord) => record.id)).toEqual([firstDrill.id]);

    // And restores asked for, newest first, without the drills
    const asked = await list({ database: 'shop-db', drill: 'false', limit: '2' });
    expect(asked.body.restores.map((record: AnyRestoreRecord) => record.id)).toEqual([newest.id, older.id]);

    // And all of them, newest first
    const all = await list({ database: 'shop-db', limit: '50' });
    expect(all.body.restores).toHaveLength(5);
    expect(all.body.cursor).toBeUndefined();
  });

  it.each([
    [{ database: 'nope-db' }, 404, 'no database named nope-db'],
    [{ volume: 'nope' }, 404, 'no volume named nope'],
    [{}, 400, 'query.database: is required: give exactly one of database or volume'],
    [
      { database: 'shop-db', volume: 'shop-uploads' },
      400,
      'query.volume: give exactly one of database or volume, not both',
    ],
    [{ database: 'shop-db', drill: 'yes' }, 400, 'query.drill: expected true or false'],
    [{ database: 'shop-db', limit: '51' }, 400, 'query.limit: expected an integer from 1 to 50'],
  ])('answers %j with %i, naming the field and the reason', async (query, status, message) => {
    const answer = await list(query as Record<string, string>);
    expect(answer.status).toBe(status);
    expect(answer.body.error.message).toBe(message);
  });

  it("refuses a token scoped to some apps, as the backups' listing does (restores name no app)", async () => {
    const answer = await list({ database: 'shop-db' }, scoped);
    expect(answer.status).toBe(403);
  });
});

describe('GET /v1/backups across every source', () => {
  it('names every database and volume of the config, backed up yet or not, beside the newest backups', async () => {
    // Given a config naming two databases and a volume, none of them backed up in this table
    const handler = makeListBackups({
      tokens: tokens.source,
      backups: { retentionPreview: async () => Promise.reject(new Error('not asked')), database: () => undefined },
      archives: { retentionPreview: async () => Promise.reject(new Error('not asked')), settings: () => undefined },
      store: new BackupStore(documents, TABLE),
      databases: ['shop-db', 'orders-db'],
      volumes: ['shop-uploads'],
    } as unknown as Parameters<typeof makeListBackups>[0]);
    // When the console lists across every source
    const response = await handler(
      httpEvent('not-found', {
        method: 'GET',
        path: '/v1/backups',
        routeKey: 'GET /v1/backups',
        query: { limit: '1' },
        token: viewer,
      }),
      lambdaContext(),
    );
    // Then each source is named, so the backups page lists the ones without a backup too
    expect(JSON.parse(response.body ?? '{}')).toEqual({
      backups: [],
      databases: ['shop-db', 'orders-db'],
      volumes: ['shop-uploads'],
    });
  });
});
