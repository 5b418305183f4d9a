import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import type * as z from 'zod';
import { makeHandler as makeApproveDeployment } from '../../../functions/http/approve-deployment';
import { makeHandler as makeCancelDeployment } from '../../../functions/http/cancel-deployment';
import { makeHandler as makeCreateDeployment } from '../../../functions/http/create-deployment';
import { makeHandler as makeCreateRestore } from '../../../functions/http/create-restore';
import { makeHandler as makeGetBackup } from '../../../functions/http/get-backup';
import { makeHandler as makeGetDeployment } from '../../../functions/http/get-deployment';
import { makeHandler as makeGetEnvironment } from '../../../functions/http/get-environment';
import { makeHandler as makeGetHealth } from '../../../functions/http/get-health';
import { makeHandler as makeGetLiveness } from '../../../functions/http/get-liveness';
import { makeHandler as makeGetMe } from '../../../functions/http/get-me';
import { makeHandler as makeGetOpenapi } from '../../../functions/http/get-openapi';
import { makeHandler as makeGetReadiness } from '../../../functions/http/get-readiness';
import { makeHandler as makeGetRestore } from '../../../functions/http/get-restore';
import { makeHandler as makeListApps } from '../../../functions/http/list-apps';
import { makeHandler as makeListAudit } from '../../../functions/http/list-audit';
import { makeHandler as makeListBackups } from '../../../functions/http/list-backups';
import { makeHandler as makeListDeployments } from '../../../functions/http/list-deployments';
import { makeHandler as makeListRestores } from '../../../functions/http/list-restores';
import { makeHandler as makeNotFound } from '../../../functions/http/not-found';
import { makeHandler as makePromoteEnvironment } from '../../../functions/http/promote-environment';
import { makeHandler as makeRegistryWebhook } from '../../../functions/http/registry-webhook';
import { makeHandler as makeRestartEnvironment } from '../../../functions/http/restart-environment';
import { makeHandler as makeRollbackEnvironment } from '../../../functions/http/rollback-environment';
import { makeHandler as makeScaleEnvironment } from '../../../functions/http/scale-environment';
import { makeHandler as makeSlackInteractions } from '../../../functions/http/slack-interactions';
import { makeHandler as makeTakeBackup } from '../../../functions/http/take-backup';
import { type AuditEntry, sourceKey } from '../../../lib/audit/trail';
import type { TokenSource } from '../../../lib/auth/token-source';
import type { Archives } from '../../../lib/backup/archives';
import type { Backups } from '../../../lib/backup/backups';
import type { Deployments } from '../../../lib/deploy/deployments';
import type { SlipwayError } from '../../../lib/errors';
import { writeOpenApiDocument } from '../../../lib/http/openapi';
import { type ApiRoute, apiRoutes } from '../../../lib/http/registry';
import { MAX_BODY_BYTES } from '../../../lib/http/route-chain';
import type { Releases } from '../../../lib/release/releases';
import type { Restores } from '../../../lib/restore/restores';
import { AuditStore } from '../../../lib/store/audit';
import { BackupStore, RestoreStore } from '../../../lib/store/backups';
import { DeploymentStore } from '../../../lib/store/deployments';
import { noIdempotency } from '../../../lib/store/idempotency';
import { memoryAudit } from '../../support/audit';
import {
  answer,
  answerNow,
  contractBreach,
  eventFor,
  FUZZ_RUNS,
  FUZZ_TIMEOUT_MS,
  forgedCursor,
  fuzzParameters,
  fuzzTokens,
  type HostileRequest,
  hostileRequest,
  hostileString,
  jsonBody,
  outcome,
  oversizedBody,
  watchUnhandledRejections,
} from '../../support/fuzz';
import { lambdaContext } from '../../support/http';

/**
 * Every route of lib/http/registry.ts, built with makeHandler and fakes, fed hostile requests:
 * any body, path, query and headers, with valid, invalid and missing tokens. The fakes answer as a
 * use case may (plain data, or a typed 4xx): what is under test is the edge, i.e. parsing,
 * validation, authentication, scope checks and error mapping. Properties: never a 5xx, the JSON
 * error shape on every 4xx, no unhandled rejection, and 413 for a body over 256 KiB.
 */

type RouteName = keyof typeof apiRoutes;
type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

jest.setTimeout(FUZZ_TIMEOUT_MS);
const unhandled = watchUnhandledRejections();
// The OpenAPI document as packaging writes it into getOpenapi's package.
const openApiDir = mkdtempSync(join(tmpdir(), 'slipway-fuzz-openapi-'));
const openApiFile = join(openApiDir, 'openapi.json');
writeOpenApiDocument(apiRoutes, openApiFile);
afterAll(() => rmSync(openApiDir, { recursive: true, force: true }));
const credentials = fuzzTokens();
const WEBHOOK_SECRET = 'fuzz-webhook-secret';
const NOW = new Date('2026-11-22T03:00:00.000Z');
// requestContext.http.sourceIp of events/http.not-found.json, which every request is made from.
const SAMPLE_SOURCE = '203.0.113.10';

// Plain data as the use cases return it: enough of each record for the handlers to answer.
const DEPLOYMENT = {
  id: 'dep-00000000-0000-4000-8000-000000000001',
  app: 'shop',
  environment: 'staging',
  state: 'PENDING_APPROVAL',
  requestedBy: { name: 'ci' },
  approvals: { required: 1, by: [] },
  timeline: [],
};
const BACKUP = {
  id: 'bkp-00000000-0000-4000-8000-000000000001',
  status: 'CREATING',
  database: 'shop-db',
  createdAt: '2026-11-22T03:00:00.000Z',
};
const RESTORE = {
  id: 'rst-00000000-0000-4000-8000-000000000001',
  status: 'RESTORING',
  database: 'shop-db',
  createdAt: '2026-11-22T03:00:00.000Z',
};
const DECISION = { keep: [{ snapshot: { id: BACKUP.id }, reasons: ['daily'] }], delete: [] };
const TARGET = { app: 'shop', environment: 'staging' };
/** What the registry answers for the tags the webhook's sample and GitHub's fixture push: their own digests. */
const REGISTRY_TAGS: Record<string, string> = {
  '1.5.0': 'sha256:9b1e4d7a9b1e4d7a9b1e4d7a9b1e4d7a9b1e4d7a9b1e4d7a9b1e4d7a9b1e4d7a',
  '1.4.2': 'sha256:9b2a6c1f0d4e8a7b3c5d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b',
};
/** Delivery ids in memory, as the state table keeps them: each taken once, forgotten only by its own attempt. */
function memoryDeliveries() {
  const seen = new Map<string, string>();
  return {
    seen,
    remember: async ({ id }: { id: string }) => {
      if (seen.has(id)) return undefined;
      const attempt = randomUUID();
      seen.set(id, attempt);
      return attempt;
    },
    forget: async (id: string, attempt: string) => {
      if (seen.get(id) === attempt) seen.delete(id);
    },
  };
}
const trail = memoryAudit(() => NOW);
const audit = trail.audit;

// The paged listings run on their real stores, over a state table that answers one item and the key to
// go on from: what a cursor holds is checked by the store, so that is where forged cursors must end.
const AUDIT_ID = '00000000-0000-4000-8000-000000000001';
const PAGE_KEYS = {
  listDeployments: {
    pk: `DEPLOYMENT#${DEPLOYMENT.id}`,
    sk: 'DEPLOYMENT',
    environmentKey: 'ENV#shop#production',
    environmentSortKey: `2026-11-22T02:00:00.000Z#${DEPLOYMENT.id}`,
  },
  listBackups: {
    pk: `BACKUP#${BACKUP.id}`,
    sk: 'BACKUP',
    environmentKey: 'BACKUPS#shop-db',
    environmentSortKey: `2026-11-22T02:00:00.000Z#${BACKUP.id}`,
  },
  listRestores: {
    pk: `RESTORE#${RESTORE.id}`,
    sk: 'RESTORE',
    environmentKey: 'RESTORES#shop-db',
    environmentSortKey: `2026-11-22T02:00:00.000Z#${RESTORE.id}`,
  },
  listAudit: { pk: 'AUDIT#2026-11-21', sk: `2026-11-21T05:00:00.000Z#${AUDIT_ID}` },
} as const;
type PagedRoute = keyof typeof PAGE_KEYS;
const PAGED_ROUTES = Object.keys(PAGE_KEYS) as PagedRoute[];
const ownCursor = (route: PagedRoute) => Buffer.from(JSON.stringify(PAGE_KEYS[route])).toString('base64url');
const forgedFor = (route: PagedRoute) =>
  forgedCursor(
    [PAGE_KEYS[route]],
    PAGED_ROUTES.filter((other) => other !== route).map((other) => PAGE_KEYS[other]),
  );

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const stateTable = mockClient(DynamoDBDocumentClient);
const pageOf = (key: Record<string, unknown>, item: Record<string, unknown>) => ({
  Items: [{ ...key, ...item }],
  LastEvaluatedKey: key,
});
beforeEach(() => {
  stateTable.reset();
  stateTable.on(QueryCommand).callsFake((input: { KeyConditionExpression?: string }) => {
    if (input.KeyConditionExpression?.startsWith('pk = ')) {
      return pageOf(PAGE_KEYS.listAudit, { id: AUDIT_ID, at: '2026-11-21T05:00:00.000Z', actor: 'schedule' });
    }
    if (JSON.stringify(input).includes('RESTORES#')) return pageOf(PAGE_KEYS.listRestores, RESTORE);
    const backups = JSON.stringify(input).includes('BACKUPS#');
    return backups ? pageOf(PAGE_KEYS.listBackups, BACKUP) : pageOf(PAGE_KEYS.listDeployments, DEPLOYMENT);
  });
});
const deploymentStore = new DeploymentStore(documents, 'fuzz-state');
const backupStore = new BackupStore(documents, 'fuzz-state');
const restoreStore = new RestoreStore(documents, 'fuzz-state');
const auditStore = new AuditStore(documents, 'fuzz-state', 400);

const deployments = (failure: Failure) =>
  ({
    get: async () => answer(failure(), DEPLOYMENT),
    approve: async () => answer(failure(), DEPLOYMENT),
    cancel: async () => answer(failure(), { ...DEPLOYMENT, state: 'CANCELLED' }),
    apps: async () =>
      answer(failure(), {
        apps: [{ name: 'shop', environments: [{ name: 'staging' }, { name: 'production', promoteFrom: 'staging' }] }],
      }),
    environment: async () => answer(failure(), { app: 'shop', environment: 'staging', running: null, inFlight: null }),
    history: async (app: string, environment: string, page: { limit?: number; cursor?: string }) =>
      failure() ? answer(failure(), undefined) : deploymentStore.history(app, environment, page),
    request: async () => answer(failure(), { dryRun: false, deployment: DEPLOYMENT }),
  }) as unknown as Deployments;

/** The failure the fakes answer with on the request being handled (read at call time). */
type Failure = () => SlipwayError | undefined;

const registryWebhook = (failure: Failure, deliveries: ReturnType<typeof memoryDeliveries>) =>
  makeRegistryWebhook({
    audit,
    releases: {
      targetsOf: (repository: string) => (repository.includes('shop') ? [TARGET] : []),
      onPush: async () => answer(failure(), { targets: [] }),
    } as unknown as Pick<Releases, 'onPush' | 'targetsOf'>,
    deliveries,
    secret: async () => WEBHOOK_SECRET,
    schemes: ['slipway', 'github'],
    toleranceSeconds: 300,
    resolve: async (_repository: string, tag: string) =>
      answer(failure(), REGISTRY_TAGS[tag] ?? `sha256:${'ab'.repeat(32)}`),
    now: () => NOW,
  });

/** makeHandler of each route, with fakes that answer plain data or the request's failure. */
const BUILD: Record<RouteName, (failure: Failure, tokens: TokenSource) => Handler> = {
  getHealth: () => makeGetHealth({ version: '1.2.3', stage: 'fuzz', startedAt: 0, now: () => 1_000 }),
  getLiveness: () => makeGetLiveness(),
  // Healthy or skipped: a failing dependency is a 503 with the report, by contract, and not an edge case.
  getReadiness: (failure, tokens) =>
    makeGetReadiness({
      tokens,
      timeoutMs: 50,
      checks: [
        { name: 'stateTable', probe: async () => undefined },
        { name: 'secrets', probe: async () => undefined, skipReason: async () => (failure() ? 'not here' : undefined) },
      ],
    }),
  getOpenapi: () => makeGetOpenapi({ version: '1.2.3', file: openApiFile }),
  getMe: (_failure, tokens) => makeGetMe({ tokens }),
  createDeployment: (failure, tokens) =>
    makeCreateDeployment({ tokens, audit, deployments: deployments(failure), idempotency: noIdempotency }),
  getDeployment: (failure, tokens) => makeGetDeployment({ tokens, deployments: deployments(failure) }),
  approveDeployment: (failure, tokens) => makeApproveDeployment({ tokens, audit, deployments: deployments(failure) }),
  cancelDeployment: (failure, tokens) => makeCancelDeployment({ tokens, audit, deployments: deployments(failure) }),
  listApps: (failure, tokens) => makeListApps({ tokens, deployments: deployments(failure) }),
  getEnvironment: (failure, tokens) => makeGetEnvironment({ tokens, deployments: deployments(failure) }),
  listDeployments: (failure, tokens) => makeListDeployments({ tokens, deployments: deployments(failure) }),
  rollbackEnvironment: (failure, tokens) =>
    makeRollbackEnvironment({ tokens, audit, deployments: deployments(failure), idempotency: noIdempotency }),
  promoteEnvironment: (failure, tokens) =>
    makePromoteEnvironment({
      tokens,
      audit,
      deployments: deployments(failure),
      idempotency: noIdempotency,
      promoteFrom: (_app, environment) => (environment === 'production' ? 'staging' : undefined),
    }),
  restartEnvironment: (failure, tokens) =>
    makeRestartEnvironment({ tokens, audit, deployments: deployments(failure), idempotency: noIdempotency }),
  scaleEnvironment: (failure, tokens) =>
    makeScaleEnvironment({ tokens, audit, deployments: deployments(failure), idempotency: noIdempotency }),
  registryWebhook: (failure) => registryWebhook(failure, memoryDeliveries()),
  slackInteractions: (failure, tokens) =>
    makeSlackInteractions({
      audit,
      slack: { signingSecret: async () => WEBHOOK_SECRET, approvers: { U012AB3CD: 'test-approver' } },
      tokens,
      deployments: deployments(failure),
      respond: async () => true,
      now: () => NOW,
    }),
  listBackups: (failure, tokens) =>
    makeListBackups({
      tokens,
      backups: {
        database: (name: string) => answerNow(failure(), { name }),
        retentionPreview: async () => answer(failure(), DECISION),
      } as unknown as Pick<Backups, 'retentionPreview' | 'database'>,
      archives: {
        settings: () => answerNow(failure(), { kind: 'volume-archive' }),
        retentionPreview: async () => answer(failure(), DECISION),
      } as unknown as Pick<Archives, 'retentionPreview' | 'settings'>,
      store: {
        list: async (...args: Parameters<BackupStore['list']>) =>
          failure() ? answer(failure(), undefined) : backupStore.list(...args),
      } as unknown as Pick<BackupStore, 'list'>,
      databases: ['shop-db'],
      volumes: ['shop-uploads'],
    }),
  takeBackup: (failure, tokens) =>
    makeTakeBackup({
      tokens,
      audit,
      backups: { take: async () => answer(failure(), BACKUP) } as unknown as Pick<Backups, 'take'>,
      archives: { take: async () => answer(failure(), BACKUP) } as unknown as Pick<Archives, 'take'>,
    }),
  getBackup: (failure, tokens) =>
    makeGetBackup({
      tokens,
      // A missing record is the handler's own 404; an error is the store's.
      store: {
        get: async (id: string) => answer(failure(), id.endsWith('9') ? undefined : BACKUP),
      } as unknown as Pick<BackupStore, 'get'>,
    }),
  createRestore: (failure, tokens) =>
    makeCreateRestore({
      tokens,
      audit,
      restores: { request: async () => answer(failure(), RESTORE) } as unknown as Pick<Restores, 'request'>,
      archives: { restore: async () => answer(failure(), RESTORE) } as unknown as Pick<Archives, 'restore'>,
      now: () => NOW,
    }),
  getRestore: (failure, tokens) =>
    makeGetRestore({
      tokens,
      store: { get: async () => answer(failure(), RESTORE) } as unknown as Pick<RestoreStore, 'get'>,
    }),
  listRestores: (failure, tokens) =>
    makeListRestores({
      tokens,
      store: {
        list: async (...args: Parameters<RestoreStore['list']>) =>
          failure() ? answer(failure(), undefined) : restoreStore.list(...args),
      } as unknown as Pick<RestoreStore, 'list'>,
      databases: ['shop-db'],
      volumes: ['shop-uploads'],
    }),
  listAudit: (failure, tokens) =>
    makeListAudit({
      tokens,
      store: {
        list: async (...args: Parameters<AuditStore['list']>) =>
          failure() ? Promise.reject(failure()) : auditStore.list(...args),
      },
      retentionDays: 400,
      now: () => NOW,
    }),
};

// ---------------------------------------------------------------------------------------------
// What each route reads, from its schemas and its sample in events/

/** The property names a zod schema reads (objects, unions, pipes and wrappers). */
function schemaKeys(schema: z.core.$ZodType | undefined): string[] {
  if (!schema) return [];
  const def = schema._zod.def as z.core.$ZodTypeDef & {
    shape?: Record<string, unknown>;
    options?: z.core.$ZodType[];
    in?: z.core.$ZodType;
    innerType?: z.core.$ZodType;
  };
  if (def.type === 'object') return Object.keys(def.shape ?? {});
  if (def.type === 'union') return [...new Set((def.options ?? []).flatMap((option) => schemaKeys(option)))];
  if (def.type === 'pipe') return schemaKeys(def.in);
  return def.innerType ? schemaKeys(def.innerType) : [];
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

function sampleOf(route: ApiRoute): APIGatewayProxyEventV2 {
  return JSON.parse(readFileSync(`events/http.${kebab(route.name)}.json`, 'utf8'));
}

const WEBHOOK_KEYS = ['repository', 'tag', 'digest', 'push_data', 'package', 'action', 'registry', 'pushedAt'];

/** Headers signing `body` with the webhook's key in either scheme, the Slipway one timestamped now. */
function signedWith(scheme: 'slipway' | 'github', body: string): Record<string, string> {
  if (scheme === 'github') {
    return { 'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}` };
  }
  const t = NOW.getTime() / 1000;
  return {
    'x-slipway-signature': `t=${t},sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex')}`,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A few ids reused, so that deliveries repeat; any UUID; and ids that are no GUID at all. */
const REUSED_DELIVERIES = [
  '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  '0c1b7a6e-2f4d-4e8a-9b3c-5d6e7f8a9b0c',
  'F00DCAFE-0000-4000-8000-00000000BEEF',
];
const deliveryId = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...REUSED_DELIVERIES) },
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.uuid().map((id) => id.repeat(200)) },
  { weight: 1, arbitrary: fc.string({ minLength: 257, maxLength: 5_000 }) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.uuid().map((id) => id.replaceAll('-', '')) },
);

/** package.updated_at: within the tolerance, outside it either way, long past, not a time, or absent. */
const pushTime = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.integer({ min: -300, max: 300 }).map((s) => new Date(NOW.getTime() + s * 1000).toISOString()),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 301, max: 400 * 86_400 }).map((s) => new Date(NOW.getTime() - s * 1000).toISOString()),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 301, max: 86_400 }).map((s) => new Date(NOW.getTime() + s * 1000).toISOString()),
  },
  { weight: 1, arbitrary: fc.constantFrom('recently', '', '0001-01-01T00:00:00Z', '2026-13-45T99:00:00Z') },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** GitHub's package event (test/fixtures/webhooks) with its push time replaced. */
function gitHubPackageEvent(): fc.Arbitrary<Record<string, unknown>> {
  const fixture = JSON.parse(readFileSync('test/fixtures/webhooks/ghcr.package-published.json', 'utf8'));
  return pushTime.map((updatedAt) => {
    const event = structuredClone(fixture);
    if (updatedAt === undefined) delete event.package.updated_at;
    else event.package.updated_at = updatedAt;
    return event;
  });
}

/** The route's own sample, one or two of its fields replaced by something hostile. */
function nearValidBody(route: ApiRoute): fc.Arbitrary<unknown> {
  const sample = sampleOf(route).body;
  // A form-encoded sample (Slack's) has no JSON keys to vary.
  const parsed: Record<string, unknown> = sample && !route.rawBody?.contentType ? JSON.parse(sample) : {};
  const keys = [...new Set([...Object.keys(parsed), ...schemaKeys(route.body)])];
  if (keys.length === 0) return fc.constant(parsed);
  return fc.array(fc.tuple(fc.constantFrom(...keys), jsonBody([]), fc.boolean()), { maxLength: 2 }).map((changes) => {
    const body = { ...parsed };
    for (const [key, value, remove] of changes) {
      if (remove) delete body[key];
      else body[key] = value;
    }
    return body;
  });
}

/** Sometimes the sample's own path and query, so requests get past validation to the use case. */
function requestFor(route: ApiRoute): fc.Arbitrary<HostileRequest> {
  const sample = sampleOf(route);
  const inputs = {
    path: [
      ...new Set([
        ...schemaKeys(route.path),
        ...[...route.pathTemplate.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string),
      ]),
    ],
    query: schemaKeys(route.query),
    body: route.name === 'registryWebhook' ? WEBHOOK_KEYS : schemaKeys(route.body),
  };
  const nearValid = nearValidBody(route).map((value) => {
    const body = JSON.stringify(value);
    return { body, base64: false, bytes: Buffer.byteLength(body) };
  });
  return fc
    .tuple(
      fc.oneof(
        { weight: 1, arbitrary: hostileRequest(inputs, credentials.valid) },
        { weight: 2, arbitrary: hostileRequest(inputs, credentials.valid, nearValid) },
      ),
      fc.constantFrom(true, true, false),
      fc.constantFrom(true, true, false),
    )
    .map(([request, samplePath, sampleQuery]) => ({
      ...request,
      ...(samplePath && sample.pathParameters
        ? { pathParameters: sample.pathParameters as Record<string, string> }
        : {}),
      ...(sampleQuery && sample.queryStringParameters
        ? { query: sample.queryStringParameters as Record<string, string> }
        : {}),
    }))
    .chain((request) => {
      if (!(route.name in PAGE_KEYS)) return fc.constant(request);
      // A paged listing: its own cursor, a forged one, or none, on whatever query the request has.
      const cursor = fc.option(
        fc.oneof(fc.constant(ownCursor(route.name as PagedRoute)), forgedFor(route.name as PagedRoute)),
        {
          nil: undefined,
        },
      );
      return cursor.map((value) =>
        value === undefined ? request : { ...request, query: { ...(request.query ?? {}), cursor: value } },
      );
    });
}

const routes = Object.values(apiRoutes);

let current: SlipwayError | undefined;
const handlers = new Map<RouteName, Handler>();

/** The route's handler, built once (as on a warm Lambda), its fakes answering `failure` this time. */
async function invoke(route: ApiRoute, failure: SlipwayError | undefined, request: HostileRequest) {
  const name = route.name as RouteName;
  let handler = handlers.get(name);
  if (!handler) {
    handler = BUILD[name](() => current, credentials.source);
    handlers.set(name, handler);
  }
  current = failure;
  return handler(eventFor(route.method, route.pathTemplate, request), lambdaContext());
}

/**
 * Whatever happened to it, a mutating request is in the trail once, with its status, unless it was
 * refused before its caller was proven: then only the first from its source in the minute is, and an
 * admin's request never is only sampled.
 */
function expectAudited(
  route: ApiRoute,
  request: HostileRequest,
  response: APIGatewayProxyStructuredResultV2,
  before: AuditEntry[],
  entries: AuditEntry[],
) {
  if (route.method !== 'POST') {
    expect(entries).toEqual([]);
    return;
  }
  expect(entries.length).toBeLessThanOrEqual(1);
  const [entry] = entries;
  if (entry && !entry.sampled) {
    expect([entry.action, entry.outcome.status]).toEqual([route.name, response.statusCode]);
    return;
  }
  expect(response.statusCode).toBeGreaterThanOrEqual(400);
  expect(route.access === 'public' || request.authorization !== `Bearer ${credentials.admin}`).toBe(true);
  const address = request.sourceIp === undefined ? SAMPLE_SOURCE : request.sourceIp || undefined;
  const id = `unauthenticated:${NOW.toISOString().slice(0, 16)}:${sourceKey(address)}`;
  if (entry) expect([entry.id, entry.action, entry.outcome.status]).toEqual([id, route.name, response.statusCode]);
  else expect(before.filter((kept) => kept.id === id)).toHaveLength(1);
}

describe('every route, fed hostile requests', () => {
  it('has a fake for every route of the registry', () => {
    expect(Object.keys(BUILD).sort()).toEqual(Object.keys(apiRoutes).sort());
  });

  it.each(routes.map((route) => [route.name, route] as const))(
    '%s never answers a 5xx, always answers JSON, and every error in the shared shape',
    async (_, route) => {
      await fc.assert(
        fc.asyncProperty(outcome, requestFor(route), async (failure, request) => {
          const recorded = trail.entries.length;
          const response = await invoke(route, failure, request);
          const breach = contractBreach(response);
          if (breach) throw new Error(breach);
          expectAudited(route, request, response, trail.entries.slice(0, recorded), trail.entries.slice(recorded));
          // A body over the limit is refused once the caller may call the route at all.
          const mayCall = route.access === 'public' || request.authorization === `Bearer ${credentials.admin}`;
          if (request.body.bytes > MAX_BODY_BYTES && mayCall) expect(response.statusCode).toBe(413);
          await unhandled.assertNone();
        }),
        fuzzParameters(),
      );
    },
  );

  it.each(routes.map((route) => [route.name, route] as const))(
    '%s refuses a body over 256 KiB with 413, whatever it holds',
    async (_, route) => {
      await fc.assert(
        fc.asyncProperty(outcome, requestFor(route), oversizedBody(), async (failure, request, body) => {
          const response = await invoke(route, failure, {
            ...request,
            body,
            authorization: `Bearer ${credentials.admin}`,
          });
          expect(contractBreach(response)).toBeUndefined();
          expect({ status: response.statusCode, code: JSON.parse(response.body ?? '{}').error?.code }).toEqual({
            status: 413,
            code: 'PAYLOAD_TOO_LARGE',
          });
          await unhandled.assertNone();
        }),
        fuzzParameters(Math.max(5, Math.floor(FUZZ_RUNS / 6))),
      );
    },
  );

  it.each(routes.map((route) => [route.name, route] as const))(
    '%s answers its own sample in events/ with a 2xx (so the fuzz is not stopped at the door)',
    async (_, route) => {
      const sample = sampleOf(route);
      const body = sample.body ?? '';
      const t = NOW.getTime() / 1000;
      const signature = `t=${t},sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex')}`;
      const slackSignature = `v0=${createHmac('sha256', WEBHOOK_SECRET).update(`v0:${t}:${body}`).digest('hex')}`;
      const signatures: Record<string, Record<string, string>> = {
        registryWebhook: { 'x-slipway-signature': signature },
        slackInteractions: { 'x-slack-request-timestamp': String(t), 'x-slack-signature': slackSignature },
      };
      const response = await invoke(route, undefined, {
        pathParameters: sample.pathParameters as Record<string, string> | undefined,
        query: sample.queryStringParameters as Record<string, string> | undefined,
        authorization: `Bearer ${credentials.admin}`,
        contentType: (route as ApiRoute).rawBody?.contentType ?? 'application/json',
        headers: signatures[route.name] ?? {},
        body: { body: sample.body, base64: false, bytes: Buffer.byteLength(body) },
      });
      expect({
        status: Math.floor((response.statusCode ?? 0) / 100),
        body: JSON.parse(response.body ?? '{}').error,
      }).toEqual({
        status: 2,
        body: undefined,
      });
    },
  );

  it.each(PAGED_ROUTES.map((name) => [name] as const))(
    '%s refuses every forged cursor with a 400 naming query.cursor, and follows its own',
    async (name) => {
      const route = apiRoutes[name];
      const sample = sampleOf(route);
      const listing = (cursor: string) =>
        invoke(route, undefined, {
          pathParameters: sample.pathParameters as Record<string, string> | undefined,
          query: { ...(sample.queryStringParameters as Record<string, string>), cursor },
          authorization: `Bearer ${credentials.admin}`,
          contentType: undefined,
          headers: {},
          body: { body: undefined, base64: false, bytes: 0 },
        });
      // Given the listing's own cursor, it reads the next page from the key it holds
      const own = await listing(ownCursor(name));
      expect(own.statusCode).toBe(200);
      const [query] = stateTable.commandCalls(QueryCommand).slice(-1);
      expect(query?.args[0].input.ExclusiveStartKey).toEqual(PAGE_KEYS[name]);

      await fc.assert(
        fc.asyncProperty(forgedFor(name), async (cursor) => {
          const queries = stateTable.commandCalls(QueryCommand).length;
          const response = await listing(cursor);
          const error = JSON.parse(response.body ?? '{}').error;
          expect({ status: response.statusCode, code: error?.code, message: error?.message }).toEqual({
            status: 400,
            code: 'INVALID_INPUT',
            message: expect.stringMatching(/^query\.cursor: /),
          });
          expect(error.details).toContainEqual(expect.objectContaining({ location: 'query', field: 'cursor' }));
          expect(error.details.map(({ field }: { field: string }) => field)).toEqual(error.details.map(() => 'cursor'));
          // And nothing forged reached the table as an ExclusiveStartKey
          expect(stateTable.commandCalls(QueryCommand)).toHaveLength(queries);
          await unhandled.assertNone();
        }),
        fuzzParameters(Math.max(200, 3 * FUZZ_RUNS)),
      );
    },
  );

  it('the registry webhook takes each GitHub delivery once, within the push-time tolerance, and names what it refuses', async () => {
    const route = apiRoutes.registryWebhook;
    const delivery = fc.record({
      failure: outcome,
      event: gitHubPackageEvent(),
      id: fc.option(deliveryId, { nil: undefined, freq: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(delivery, { minLength: 1, maxLength: 8 }), async (deliveries) => {
        // Given a fresh webhook whose memory of delivery ids is a model: an id is taken only by a 202
        const memory = memoryDeliveries();
        let failure: SlipwayError | undefined;
        const handler = registryWebhook(() => failure, memory);
        const taken = new Set<string>();
        for (const { failure: thisFailure, event, id } of deliveries) {
          failure = thisFailure;
          const body = JSON.stringify(event);
          const response = await handler(
            eventFor(route.method, route.pathTemplate, {
              pathParameters: undefined,
              query: undefined,
              authorization: undefined,
              contentType: 'application/json',
              headers: {
                ...signedWith('github', body),
                'x-github-event': 'package',
                ...(id !== undefined ? { 'x-github-delivery': id } : {}),
              },
              body: { body, base64: false, bytes: Buffer.byteLength(body) },
            }),
            lambdaContext(),
          );
          const breach = contractBreach(response);
          if (breach) throw new Error(breach);
          const error = JSON.parse(response.body ?? '{}').error;

          // Then each answer is the one the rules give, in their order
          const updatedAt = (event.package as { updated_at?: string }).updated_at;
          const pushedAt = updatedAt === undefined ? Number.NaN : Date.parse(updatedAt);
          if (id === undefined || !GUID.test(id)) {
            expect({ status: response.statusCode, field: error?.details?.[0]?.field }).toEqual({
              status: 400,
              field: 'x-github-delivery',
            });
            expect(error.message).toMatch(/^headers\.x-github-delivery: /);
          } else if (Number.isNaN(pushedAt) || Math.abs(pushedAt - NOW.getTime()) > 300_000) {
            expect({ status: response.statusCode, message: error?.message }).toEqual({
              status: 401,
              message: expect.stringMatching(/^package\.updated_at /),
            });
          } else if (thisFailure) {
            expect(response.statusCode).toBe(thisFailure.status);
          } else if (taken.has(id.toLowerCase())) {
            expect({ status: response.statusCode, code: error?.code }).toEqual({ status: 409, code: 'CONFLICT' });
          } else {
            expect(response.statusCode).toBe(202);
            taken.add(id.toLowerCase());
          }
          // And what is remembered is exactly what was taken
          expect([...memory.seen.keys()].sort()).toEqual([...taken].sort());
          await unhandled.assertNone();
        }
      }),
      fuzzParameters(),
    );
  });

  it('the catch-all ($default, notFound) answers any other method and path with a JSON 404, or 413', async () => {
    const notFound = makeNotFound();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'get', ''),
        fc.array(hostileString, { maxLength: 6 }),
        hostileRequest({}, credentials.valid),
        async (method, segments, request) => {
          const event = eventFor(method, `/${segments.join('/')}`, request);
          const response = await notFound(event, lambdaContext());
          const breach = contractBreach(response);
          if (breach) throw new Error(breach);
          expect(response.statusCode).toBe(request.body.bytes > MAX_BODY_BYTES ? 413 : 404);
          await unhandled.assertNone();
        },
      ),
      fuzzParameters(),
    );
  });

  it('the registry webhook holds to the contract for any body signed with its secret, in either scheme', async () => {
    const route = apiRoutes.registryWebhook;
    const githubEvent = fc.option(fc.constantFrom('package', 'registry_package', 'ping', 'push', ''), {
      nil: undefined,
    });
    await fc.assert(
      fc.asyncProperty(
        outcome,
        fc.oneof(nearValidBody(route), jsonBody(WEBHOOK_KEYS), gitHubPackageEvent()),
        githubEvent,
        fc.constantFrom('slipway' as const, 'github' as const),
        fc.option(deliveryId, { nil: undefined }),
        async (failure, value, event, scheme, delivery) => {
          const body = JSON.stringify(value) ?? 'null';
          const response = await invoke(route, failure, {
            pathParameters: undefined,
            query: undefined,
            authorization: undefined,
            contentType: 'application/json',
            headers: {
              ...signedWith(scheme, body),
              ...(event !== undefined ? { 'x-github-event': event } : {}),
              ...(delivery !== undefined ? { 'x-github-delivery': delivery } : {}),
            },
            body: { body, base64: false, bytes: Buffer.byteLength(body) },
          });
          const breach = contractBreach(response);
          if (breach) throw new Error(breach);
          await unhandled.assertNone();
        },
      ),
      fuzzParameters(),
    );
  });
});
