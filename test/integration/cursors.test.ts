import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { makeHandler as makeListAudit } from '../../functions/http/list-audit';
import { type ListBackupsDeps, makeHandler as makeListBackups } from '../../functions/http/list-backups';
import { makeHandler as makeListDeployments } from '../../functions/http/list-deployments';
import type { AuditEntry } from '../../lib/audit/trail';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import type { AnyBackupRecord } from '../../lib/backup/records';
import type { Deployments } from '../../lib/deploy/deployments';
import type { DeploymentRecord } from '../../lib/deploy/records';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { AuditStore } from '../../lib/store/audit';
import { BackupStore } from '../../lib/store/backups';
import { DeploymentStore } from '../../lib/store/deployments';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { createStateTable } from '../support/resources';

/**
 * Cursors of the three paged listings (deployment history, backups, the audit trail) against DynamoDB
 * as dynalite serves it: each listing pages with its own cursors, and a forged one (right base64url
 * JSON, wrong value types, another listing's or partition's key, a key outside the query's range) is a
 * 400 naming query.cursor. DynamoDB refuses such an ExclusiveStartKey with a ValidationException
 * ("The provided key element does not match the schema", "The provided starting key is outside query
 * boundaries"; DynamoDB API Reference, Query, ExclusiveStartKey), which would otherwise be a 500.
 */

const TABLE = 'slipway-cursors-test';
const NOW = new Date('2026-12-05T10:00:00.000Z');

let dynamodb: EmbeddedServer;
let documents: DynamoDBDocumentClient;
let tableName: string;
let tableCounter = 0;
const tokens = memoryTokenSource();
const admin = tokens.tokens.admin;

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  const client = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  tableCounter += 1;
  tableName = `${TABLE}-${tableCounter}`;
  await createStateTable(client, tableName);

  const deployments = new DeploymentStore(documents, tableName);
  const backups = new BackupStore(documents, tableName);
  const audit = new AuditStore(documents, tableName, 400);
  for (let index = 1; index <= 3; index += 1) {
    const id = `00000000-0000-4000-8000-00000000000${index}`;
    const at = `2026-12-0${index + 1}T09:00:00.000Z`;
    await deployments.create({
      id: `dep-${id}`,
      app: 'shop',
      environment: 'staging',
      kind: 'deploy',
      state: 'SUCCEEDED',
      requestedBy: { name: 'ci', kind: 'token' },
      createdAt: at,
      updatedAt: at,
      cluster: 'shop-staging',
      service: 'backend',
      from: { images: {} },
      to: { images: {}, tag: `1.${index}.0` },
      registeredTaskDefinition: false,
      approvals: { required: 0, by: [] },
      timeline: [],
    } satisfies DeploymentRecord);
    await backups.create({
      id: `bkp-${id}`,
      kind: 'rds-snapshot',
      database: 'shop-db',
      source: { type: 'instance', identifier: 'shop-db' },
      region: 'us-east-1',
      snapshotIdentifier: `slipway-shop-db-${index}`,
      status: 'AVAILABLE',
      trigger: 'schedule',
      createdAt: at,
      updatedAt: at,
    } satisfies AnyBackupRecord);
    await audit.put({
      id,
      at,
      source: 'automatic',
      actor: 'schedule',
      action: 'backup.take',
      decision: 'allowed',
      target: { database: 'shop-db' },
      outcome: { result: 'succeeded' },
    } satisfies AuditEntry);
  }
});

afterAll(() => dynamodb.close());

const routes = () => {
  const deployments = new DeploymentStore(documents, tableName);
  return {
    deployments: makeListDeployments({
      tokens: tokens.source,
      // The use case only checks the environment exists, then asks the store.
      deployments: {
        history: (app: string, environment: string, page: { limit?: number; cursor?: string }) =>
          deployments.history(app, environment, page),
      } as unknown as Deployments,
    }),
    backups: makeListBackups({
      tokens: tokens.source,
      backups: { database: () => ({}) } as unknown as ListBackupsDeps['backups'],
      archives: {} as ListBackupsDeps['archives'],
      store: new BackupStore(documents, tableName),
      databases: ['shop-db'],
      volumes: [],
    }),
    audit: makeListAudit({
      tokens: tokens.source,
      store: new AuditStore(documents, tableName, 400),
      retentionDays: 400,
      now: () => NOW,
    }),
  };
};

type Listing = 'deployments' | 'backups' | 'audit';
const REQUEST: Record<Listing, { path: string; routeKey: string; pathParameters?: Record<string, string> }> = {
  deployments: {
    path: '/v1/apps/shop/environments/staging/deployments',
    routeKey: 'GET /v1/apps/{app}/environments/{env}/deployments',
    pathParameters: { app: 'shop', env: 'staging' },
  },
  backups: { path: '/v1/backups', routeKey: 'GET /v1/backups' },
  audit: { path: '/v1/audit', routeKey: 'GET /v1/audit' },
};
const QUERY: Record<Listing, Record<string, string>> = {
  deployments: { limit: '1' },
  backups: { database: 'shop-db', since: '2026-12-01T00:00:00Z', until: '2026-12-05T00:00:00Z', limit: '1' },
  audit: { since: '2026-12-01T00:00:00Z', until: '2026-12-05T00:00:00Z', limit: '1' },
};
const ITEMS: Record<Listing, string> = { deployments: 'deployments', backups: 'backups', audit: 'entries' };

async function list(listing: Listing, cursor?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = (await routes()[listing](
    httpEvent('not-found', {
      ...REQUEST[listing],
      query: { ...QUERY[listing], ...(cursor !== undefined ? { cursor } : {}) },
      token: admin,
    }),
    lambdaContext(),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode ?? 0, body: JSON.parse(response.body ?? 'null') };
}

const encode = (key: unknown) => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));

/** The cursor of the listing's first page, as the listing itself wrote it. */
async function firstCursor(listing: Listing): Promise<Record<string, unknown>> {
  const { status, body } = await list(listing);
  expect(status).toBe(200);
  return decode(body.cursor as string);
}

describe.each(['deployments', 'backups', 'audit'] as const)('the %s listing', (listing) => {
  it('pages with its own cursors: every item once, and no cursor after the last', async () => {
    const pages: Array<Array<{ id: string }>> = [];
    let cursor: string | undefined;
    do {
      const { status, body } = await list(listing, cursor);
      expect(status).toBe(200);
      pages.push(body[ITEMS[listing]] as Array<{ id: string }>);
      cursor = body.cursor as string | undefined;
    } while (cursor && pages.length < 10);
    // A full page has a cursor even when nothing follows (DynamoDB API Reference, Query, LastEvaluatedKey).
    const ids = pages.flat().map((item) => item.id.replace(/^(dep|bkp)-/, ''));
    expect(ids.sort()).toEqual([1, 2, 3].map((index) => `00000000-0000-4000-8000-00000000000${index}`));
    expect(pages.length).toBeLessThanOrEqual(4);
  });

  /** Forgeries of the first page's real key: one field changed, or a key from elsewhere. */
  const forgeries = (key: Record<string, unknown>): Array<[string, unknown]> => {
    const fields = Object.keys(key);
    const retyped = fields.flatMap(
      (field): Array<[string, unknown]> => [
        [`${field} as a number`, { ...key, [field]: 7 }],
        [`${field} as DynamoDB JSON`, { ...key, [field]: { S: key[field] } }],
        [`${field} as a list`, { ...key, [field]: [key[field]] }],
        [`${field} as null`, { ...key, [field]: null }],
        [`${field} left out`, Object.fromEntries(Object.entries(key).filter(([name]) => name !== field))],
        [`${field} empty`, { ...key, [field]: '' }],
      ],
    );
    return [
      ...retyped,
      ['an extra field', { ...key, type: 'deployment' }],
      ['a JSON list', [key]],
      ['a JSON string', 'pk'],
      ['a deployment key of production', { ...key, environmentKey: 'ENV#shop#production' }],
      [
        'a backup key of another database',
        {
          pk: 'BACKUP#bkp-00000000-0000-4000-8000-000000000001',
          sk: 'BACKUP',
          environmentKey: 'BACKUPS#billing-db',
          environmentSortKey: '2026-12-02T09:00:00.000Z#bkp-00000000-0000-4000-8000-000000000001',
        },
      ],
      [
        'a restore key',
        {
          pk: 'RESTORE#rst-00000000-0000-4000-8000-000000000001',
          sk: 'RESTORE',
          environmentKey: 'RESTORES#shop-db',
          environmentSortKey: '2026-12-02T09:00:00.000Z#rst-00000000-0000-4000-8000-000000000001',
        },
      ],
      ['an audit key of a day that does not exist', { pk: 'AUDIT#2026-00-00', sk: '2026-00-00T00:00:00.000Z#x' }],
      [
        'an audit key later than until on its last day',
        { pk: 'AUDIT#2026-12-05', sk: '2026-12-05T23:00:00.000Z#00000000-0000-4000-8000-000000000009' },
      ],
      [
        'a key whose sort key is outside since and until',
        { ...key, environmentSortKey: '2027-01-01T00:00:00.000Z#bkp-00000000-0000-4000-8000-000000000002' },
      ],
      [
        'a key whose sort key names another record than its pk',
        { ...key, environmentSortKey: '2026-12-02T09:00:00.000Z#dep-00000000-0000-4000-8000-000000000009' },
      ],
    ];
  };

  it('answers every forged cursor with a 400 naming query.cursor, never a 500', async () => {
    const key = await firstCursor(listing);
    const answers = [];
    for (const [what, forged] of forgeries(key)) {
      const { status, body } = await list(listing, encode(forged));
      answers.push({ what, status, error: (body as { error?: Record<string, unknown> }).error });
    }
    // Every forgery at once, so a failure lists all that got through.
    const namesCursor = (error: Record<string, unknown> | undefined) =>
      error?.code === 'INVALID_INPUT' &&
      /^query\.cursor: /.test(String(error.message)) &&
      Array.isArray(error.details) &&
      error.details.some((detail) => detail.location === 'query' && detail.field === 'cursor');
    expect(answers.filter((answer) => answer.status !== 400 || !namesCursor(answer.error))).toEqual([]);
    expect(answers.length).toBeGreaterThan(20);
  });
});
