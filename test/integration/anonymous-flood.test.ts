import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { makeHandler as makeApprove } from '../../functions/http/approve-deployment';
import { makeHandler as makeCancel } from '../../functions/http/cancel-deployment';
import { makeHandler as makeCreateDeployment } from '../../functions/http/create-deployment';
import { makeHandler as makeCreateRestore } from '../../functions/http/create-restore';
import { makeHandler as makePromote } from '../../functions/http/promote-environment';
import { makeHandler as makeRegistryWebhook } from '../../functions/http/registry-webhook';
import { makeHandler as makeRestart } from '../../functions/http/restart-environment';
import { makeHandler as makeRollback } from '../../functions/http/rollback-environment';
import { makeHandler as makeScale } from '../../functions/http/scale-environment';
import { makeHandler as makeTakeBackup } from '../../functions/http/take-backup';
import { type AuditEntry, auditTrail, sourceKey } from '../../lib/audit/trail';
import { discoveryUrl, oidcVerifier } from '../../lib/auth/oidc';
import type { OidcIssuer } from '../../lib/auth/oidc-rules';
import { secretsManagerTokenSource, withOidc } from '../../lib/auth/token-source';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { compileOidcRule } from '../../lib/config/glob-compile';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { metrics } from '../../lib/observability';
import { AuditStore } from '../../lib/store/audit';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { webhookSecret } from '../../lib/wiring/releases';
import { lambdaContext } from '../support/http';
import { createStateTable } from '../support/resources';

/**
 * Anonymous callers against every mutating route, through the real route chains: 2,000 requests
 * with no token, a token that is not one, a malformed JWT, a JWT of an untrusted issuer, a JWT of
 * the trusted one signed with another key, and registry deliveries signed with another key or not
 * at all, some over the size limit, from five sources over two minutes. The state table is dynalite,
 * its client counting every command; Secrets Manager is a stub counting every read; the OIDC issuer
 * is a stub counting every fetch. Only the sampled audit entries may be written, each secret read once.
 */

const TOKENS_SECRET = 'slipway/api-tokens';
const WEBHOOK_SECRET = 'slipway/registry-webhook';
const WEBHOOK_KEY = 'whsec-the-real-signing-key';
const ISSUER = 'https://token.actions.example.com';
const JWKS_URI = 'https://token.actions.example.com/.well-known/jwks';
const REQUESTS = 2_000;
const START = new Date('2026-12-06T10:00:00.000Z');
// Five sources: two IPv6 addresses of one /64 count as one.
const ADDRESSES = [
  '203.0.113.1',
  '203.0.113.2',
  '198.51.100.3',
  '2001:db8:a:b::1',
  '2001:db8:a:b::2',
  '2001:db8:c:d::1',
];

const secretsManager = mockClient(SecretsManagerClient);
const admin = mintToken();

let dynamodb: EmbeddedServer;
let tableName: string;
let commands: string[];
let secretReads: string[];
let issuerFetches: string[];
let clock: Date;
let useCaseCalls: string[];
let forgedJwt: string;
let untrustedJwt: string;

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  const signing = await generateKeyPair('RS256', { extractable: true });
  const stranger = await generateKeyPair('RS256', { extractable: true });
  jwks = { keys: [{ ...(await exportJWK(signing.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }] };
  const claims = { sub: 'repo:org/shop:ref:refs/heads/main', repository: 'org/shop', aud: 'slipway' };
  const iat = Math.floor(Date.now() / 1000);
  // The trusted issuer's name and key id, another key's signature.
  forgedJwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 600)
    .sign(stranger.privateKey);
  untrustedJwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
    .setIssuer('https://issuer.attacker.example')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 600)
    .sign(stranger.privateKey);
});

afterAll(async () => {
  secretsManager.restore();
  await dynamodb?.close();
});

let jwks: { keys: unknown[] };
const issuerFetch = (async (input: string | URL | Request) => {
  const url = String(input);
  issuerFetches.push(url);
  const body = url === discoveryUrl(ISSUER) ? { issuer: ISSUER, jwks_uri: JWKS_URI } : url === JWKS_URI ? jwks : {};
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
}) as typeof fetch;

const oidcIssuer: OidcIssuer = {
  issuer: ISSUER,
  audience: 'slipway',
  maxTokenAgeSeconds: 3_600,
  rules: [compileOidcRule({ claims: { repository: 'org/shop' }, roles: ['deployer'] })],
};

/** One container's handlers for every mutating route, as lib/wiring wires them, around fakes that note any call. */
function container() {
  const dynamoClient = createDynamoDbClient({
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_REGION: 'us-east-1',
  });
  dynamoClient.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  const documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  const tokens = withOidc(
    secretsManagerTokenSource(new SecretsManagerClient({ region: 'us-east-1' }), TOKENS_SECRET, 60),
    oidcVerifier([oidcIssuer], { fetch: issuerFetch }),
  );
  const audit = auditTrail(new AuditStore(documents, tableName, 400), () => clock);
  const idempotency = dynamoDbIdempotency(documents, tableName);
  // Any use case an anonymous request reaches is a failure of this test; an admin's backup is answered.
  const untouchable = new Proxy(
    {},
    {
      get: (_target, name) => async () => {
        useCaseCalls.push(String(name));
        throw new Error(`use case ${String(name)} reached`);
      },
    },
  ) as never;
  const backups = {
    take: async () => {
      useCaseCalls.push('take');
      return { id: 'bkp-00000000-0000-4000-8000-000000000001', status: 'CREATING' };
    },
  } as never;
  const deploymentRoute = { tokens, audit, deployments: untouchable, idempotency };
  return {
    createDeployment: makeCreateDeployment(deploymentRoute),
    approveDeployment: makeApprove({ tokens, audit, deployments: untouchable }),
    cancelDeployment: makeCancel({ tokens, audit, deployments: untouchable }),
    rollbackEnvironment: makeRollback(deploymentRoute),
    promoteEnvironment: makePromote({ ...deploymentRoute, promoteFrom: () => 'staging' }),
    restartEnvironment: makeRestart(deploymentRoute),
    scaleEnvironment: makeScale(deploymentRoute),
    registryWebhook: makeRegistryWebhook({
      audit,
      releases: untouchable,
      secret: webhookSecret(WEBHOOK_SECRET),
      toleranceSeconds: 300,
      schemes: ['slipway', 'github'],
      deliveries: untouchable,
      resolve: untouchable,
      now: () => clock,
    }),
    takeBackup: makeTakeBackup({ tokens, audit, backups, archives: untouchable }),
    createRestore: makeCreateRestore({ tokens, audit, restores: untouchable, archives: untouchable }),
  };
}

type Route = keyof ReturnType<typeof container>;
const ROUTES: Route[] = [
  'createDeployment',
  'approveDeployment',
  'cancelDeployment',
  'rollbackEnvironment',
  'promoteEnvironment',
  'restartEnvironment',
  'scaleEnvironment',
  'registryWebhook',
  'takeBackup',
  'createRestore',
];
const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const samples = new Map(
  ROUTES.map((route) => [
    route,
    JSON.parse(readFileSync(`events/http.${kebab(route)}.json`, 'utf8')) as APIGatewayProxyEventV2,
  ]),
);

/** The ways a caller without credentials knocks: each request takes the next. */
const KNOCKS: Array<(headers: Record<string, string>) => void> = [
  () => undefined,
  (headers) => {
    headers.authorization = `Bearer ${mintToken()}`;
  },
  (headers) => {
    headers.authorization = 'Bearer eyJhbGciOiJSUzI1NiJ9.not-base64-json.c2ln';
  },
  (headers) => {
    headers.authorization = `Bearer ${untrustedJwt}`;
  },
  (headers) => {
    headers.authorization = `Bearer ${forgedJwt}`;
  },
  (headers) => {
    headers.authorization = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  },
  (headers) => {
    const t = Math.floor(clock.getTime() / 1000);
    headers['x-slipway-signature'] = `t=${t},sha256=${'0'.repeat(64)}`;
  },
  (headers) => {
    headers['x-hub-signature-256'] = `sha256=${'ab'.repeat(32)}`;
  },
];

/** Request `index`: a route, a knock and a source in turn; every seventh carries a body over the limit. */
function anonymous(index: number): { route: Route; event: APIGatewayProxyEventV2 } {
  const route = ROUTES[index % ROUTES.length] as Route;
  const event = structuredClone(samples.get(route) as APIGatewayProxyEventV2);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && !['authorization', 'x-slipway-signature', 'x-hub-signature-256'].includes(name)) {
      headers[name] = value;
    }
  }
  headers['idempotency-key'] = `flood-${index}`;
  (KNOCKS[index % KNOCKS.length] as (headers: Record<string, string>) => void)(headers);
  event.headers = headers;
  if (index % 7 === 0) event.body = JSON.stringify({ padding: 'x'.repeat(300 * 1024) });
  event.requestContext.requestId = `flood-${index}`;
  event.requestContext.http.sourceIp = ADDRESSES[index % ADDRESSES.length] as string;
  return { route, event };
}

/** An admin taking a backup in the middle of the flood. */
function adminBackup(index: number): APIGatewayProxyEventV2 {
  const event = structuredClone(samples.get('takeBackup') as APIGatewayProxyEventV2);
  event.headers = { ...event.headers, authorization: `Bearer ${admin}` };
  event.body = JSON.stringify({ database: 'shop-db' });
  event.requestContext.requestId = `admin-${index}`;
  event.requestContext.http.sourceIp = '192.0.2.200';
  return event;
}

async function invoke(handler: ReturnType<typeof container>[Route], event: APIGatewayProxyEventV2) {
  return (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
}

async function auditItems(): Promise<AuditEntry[]> {
  const { Items = [] } = await DynamoDBDocumentClient.from(
    createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' }),
  ).send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'AUDIT#2026-12-06' },
    }),
  );
  return Items as AuditEntry[];
}

let tables = 0;
beforeEach(async () => {
  tables += 1;
  tableName = `slipway-flood-test-${tables}`;
  await createStateTable(
    createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' }),
    tableName,
  );
  commands = [];
  secretReads = [];
  issuerFetches = [];
  useCaseCalls = [];
  clock = START;
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    secretReads.push(input.SecretId);
    const value =
      input.SecretId === TOKENS_SECRET
        ? JSON.stringify({ tokens: [{ name: 'root', sha256: hashToken(admin), roles: ['admin'] }] })
        : WEBHOOK_KEY;
    return { SecretString: value, Name: input.SecretId };
  });
});

describe('an anonymous flood on every mutating route', () => {
  it('writes only one audit entry per source and minute, reads each secret once, and leaves admins their answers', async () => {
    // Given one container's handlers, and 2,000 anonymous requests over two minutes with an admin's backup every 250th
    const handlers = container();
    const statuses = new Map<number, number>();
    const adminStatuses: number[] = [];

    // When they are sent
    const counted = jest.spyOn(metrics, 'addMetric');
    for (let index = 0; index < REQUESTS; index += 1) {
      clock = new Date(START.getTime() + index * 60);
      const { route, event } = anonymous(index);
      const { statusCode } = await invoke(handlers[route], event);
      statuses.set(statusCode as number, (statuses.get(statusCode as number) ?? 0) + 1);
      if (index % 250 === 125) {
        adminStatuses.push((await invoke(handlers.takeBackup, adminBackup(index))).statusCode as number);
      }
    }

    // Then every anonymous request was refused (401, or 413 for a delivery over the size limit), and no use case ran
    expect([...statuses.keys()].sort()).toEqual([401, 413]);
    expect(useCaseCalls).toEqual(adminStatuses.map(() => 'take'));
    expect(adminStatuses).toEqual(Array(REQUESTS / 250).fill(202));

    // And the table got one entry per source and minute, and one per admin request: nothing else was written or read
    const sampled = new Set(
      Array.from({ length: REQUESTS }, (_, index) => {
        const minute = new Date(START.getTime() + index * 60).toISOString().slice(0, 16);
        return `${minute} ${sourceKey(ADDRESSES[index % ADDRESSES.length])}`;
      }),
    );
    expect(sampled.size).toBe(10);
    const items = await auditItems();
    expect(items.filter((item) => item.sampled)).toHaveLength(sampled.size);
    expect(items.filter((item) => !item.sampled).map((item) => [item.actor, item.action])).toEqual(
      adminStatuses.map(() => ['root', 'takeBackup']),
    );
    expect(commands).toEqual(Array(sampled.size + adminStatuses.length).fill('PutItemCommand'));

    // And each secret was read once, the OIDC issuer asked once for its document and once for its keys
    expect(secretReads.sort()).toEqual([TOKENS_SECRET, WEBHOOK_SECRET].sort());
    expect(issuerFetches).toEqual([discoveryUrl(ISSUER), JWKS_URI]);

    // And every 401 was counted in UnauthenticatedRequests
    const unauthenticated = counted.mock.calls.filter(([name]) => name === 'UnauthenticatedRequests');
    expect(unauthenticated).toHaveLength(statuses.get(401) as number);
    counted.mockRestore();
  });

  it('keeps one entry per source and minute when a second container takes the same flood', async () => {
    // Given two containers of the same functions on one table
    const [first, second] = [container(), container()];

    // When each takes every other request of the same flood
    for (let index = 0; index < REQUESTS; index += 1) {
      clock = new Date(START.getTime() + index * 60);
      const { route, event } = anonymous(index);
      await invoke((index % 2 === 0 ? first : second)[route], event);
    }

    // Then each container tried one conditional put per source and minute it saw (three sources each, one
    // of them, the shared /64, seen by both), and the table kept one entry of each source and minute
    const items = await auditItems();
    expect(items).toHaveLength(10);
    expect(items.every((item) => item.sampled && item.actor === 'anonymous' && item.decision === 'denied')).toBe(true);
    expect(commands).toEqual(Array(12).fill('PutItemCommand'));
  });
});
