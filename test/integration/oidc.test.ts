import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { makeHandler as makeApprove } from '../../functions/http/approve-deployment';
import { makeHandler as makeCancel } from '../../functions/http/cancel-deployment';
import { makeHandler as makeCreate } from '../../functions/http/create-deployment';
import { makeHandler as makeGetBackup } from '../../functions/http/get-backup';
import { makeHandler as makeGetDeployment } from '../../functions/http/get-deployment';
import { makeHandler as makeGetEnvironment } from '../../functions/http/get-environment';
import { makeHandler as makeListApps } from '../../functions/http/list-apps';
import { makeHandler as makePromote, promoteFromOf } from '../../functions/http/promote-environment';
import { oidcVerifier } from '../../lib/auth/oidc';
import { type Credentials, fileTokenSource, withOidc } from '../../lib/auth/token-source';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { parseConfig } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { DeploymentStore } from '../../lib/store/deployments';
import { noIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { auditOn } from '../support/audit';
import { type FakeAws, fakeAws, REPOSITORY } from '../support/fake-ecs';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { createStateTable } from '../support/resources';
import { selfSignedCertificate } from '../support/tls';

/**
 * OIDC callers end to end: a real OIDC issuer on 127.0.0.1 (HTTPS with a certificate made here by
 * openssl, serving its discovery document and JWKS), tokens it signs, and the real route handlers
 * through their middy chains over the real Deployments use case (DynamoDB served by dynalite,
 * ECS/ECR faked in memory). Config goes through the real schema, which accepts only https issuers.
 *
 * The one thing a test changes is whom TLS trusts: the verifier's fetch port gets a fetch that trusts
 * this test's certificate, since NODE_EXTRA_CA_CERTS is read only when a process starts. No code path
 * accepts a plain-http issuer.
 */

const TABLE = 'slipway-oidc-test';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';

let dir: string;
let issuerServer: Server;
let issuer: string;
let issued: string[];
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>;
let strangerKey: Awaited<ReturnType<typeof generateKeyPair>>;
let config: SlipwayConfig;
let credentials: Credentials;

let dynamodb: EmbeddedServer;
let documents: DynamoDBDocumentClient;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let aws: FakeAws;
const mockSns = () => mockClient(SNSClient);
let sns: ReturnType<typeof mockSns>;
let deployments: Deployments;
let trail: ReturnType<typeof auditOn>;
let tableCounter = 0;

const stored = memoryTokenSource();
const ops = stored.add('ops', ['admin']);
const approver = stored.add('approver', ['approver']);
/** What `npm run token -- --name ci --role deployer --app shop --environment staging` wrote. */
let scopedTokensFile: string;
let shopStagingCi: string;
let shopCi: string;

/** A fetch whose TLS trusts `ca`, as the global fetch would trust a public CA. */
function fetchTrusting(ca: Buffer): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const request = httpsRequest(
        String(input),
        {
          method: init?.method ?? 'GET',
          ca,
          headers: Object.fromEntries(new Headers(init?.headers).entries()),
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve(
              new Response(Buffer.concat(chunks), {
                status: response.statusCode ?? 500,
                headers: { 'content-type': String(response.headers['content-type'] ?? 'application/octet-stream') },
              }),
            ),
          );
        },
      );
      request.on('error', reject);
      request.end();
    })) as typeof fetch;
}

function runTokenScript(args: string[], stateDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'node_modules/.bin/tsx',
      ['scripts/token.ts', ...args],
      { env: { ...process.env, SLIPWAY_STATE_DIR: stateDir }, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-oidc-'));
  const { key, cert } = selfSignedCertificate(dir);

  signingKey = await generateKeyPair('RS256', { extractable: true });
  strangerKey = await generateKeyPair('RS256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(signingKey.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }] };

  issued = [];
  issuerServer = createServer({ key, cert }, (request, response) => {
    issued.push(request.url ?? '');
    const send = (body: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.url === '/.well-known/openid-configuration') send({ issuer, jwks_uri: `${issuer}/jwks` });
    else if (request.url === '/jwks') send(jwks);
    else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;

  config = parseConfig(
    `auth:
  tokensSecret: slipway/api-tokens
  oidc:
    - issuer: ${issuer}
      audience: slipway
      # As GitHub's issuer, which always names the person by actor_id.
      personClaim: actor_id
      rules:
        - claims: { repository: org/shop, workflow: approve, actor_id: "{1001,1002,1003}" }
          roles: [approver]
          apps: [ledger]
        - claims: { repository: org/shop, ref: refs/heads/main }
          roles: [deployer]
          apps: [shop]
          excludeEnvironments: [production]
        - claims: { repository: org/ledger }
          roles: [deployer]
          apps: [ledger]
        - claims: { repository: "org/*", ref: "refs/tags/v*" }
          roles: [viewer]
apps:
  shop:
    repository: ${REPOSITORY}
    containers: [backend]
    environments:
      staging: { cluster: shop-staging, service: backend }
      production: { cluster: shop-prod, service: backend, approvals: 1, promoteFrom: staging }
  billing:
    repository: ${REPOSITORY}
    containers: [backend]
    environments:
      staging: { cluster: billing-staging, service: backend, approvals: 1 }
  ledger:
    repository: ${REPOSITORY}
    containers: [backend]
    environments:
      staging: { cluster: ledger-staging, service: backend, approvals: 2 }
`,
    'config/oidc-test.yml',
  );

  // Scoped tokens minted by the real script (the local stage's config has app shop with staging and production).
  const stateDir = join(dir, 'state');
  scopedTokensFile = join(stateDir, 'tokens.json');
  shopStagingCi = JSON.parse(
    await runTokenScript(
      [
        '--name',
        'ci',
        '--role',
        'deployer',
        '--role',
        'approver',
        '--app',
        'shop',
        '--environment',
        'staging',
        '--json',
      ],
      stateDir,
    ),
  ).token;
  shopCi = JSON.parse(
    await runTokenScript(
      ['--name', 'shop-ci', '--role', 'deployer', '--role', 'approver', '--app', 'shop', '--json'],
      stateDir,
    ),
  ).token;

  const fromFile = fileTokenSource(scopedTokensFile);
  credentials = withOidc(
    async () => [...(await stored.source()), ...(await fromFile())],
    oidcVerifier(config.auth.oidc ?? [], { fetch: fetchTrusting(cert) }),
  );

  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(async () => {
  issuerServer.closeAllConnections();
  await new Promise<void>((resolve) => issuerServer.close(() => resolve()));
  await dynamodb.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  tableCounter += 1;
  const tableName = `${TABLE}-${tableCounter}`;
  await createStateTable(dynamoClient, tableName);
  aws = fakeAws({ clusters: ['shop-staging', 'shop-prod', 'billing-staging', 'ledger-staging'] });
  sns = mockSns();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  trail = auditOn(documents, tableName);
  deployments = new Deployments({
    config,
    stage: 'test',
    store: new DeploymentStore(documents, tableName),
    locks: new EnvironmentLocks(documents, tableName),
    ecsFor: () => new ECSClient({ region: 'us-east-1' }),
    ecrFor: (region) => new ECRClient({ region }),
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    audit: trail.audit,
  });
});

afterEach(() => {
  aws.restore();
  sns.restore();
});

const routes = () => {
  const deps = { tokens: credentials, audit: trail.audit, deployments, idempotency: noIdempotency };
  return {
    create: makeCreate(deps),
    get: makeGetDeployment(deps),
    approve: makeApprove(deps),
    cancel: makeCancel(deps),
    apps: makeListApps(deps),
    environment: makeGetEnvironment(deps),
    promote: makePromote({ ...deps, promoteFrom: promoteFromOf(config) }),
    backup: makeGetBackup({ tokens: credentials, store: { get: async () => undefined } }),
  };
};

function parsed(response: APIGatewayProxyStructuredResultV2) {
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

async function deploy(token: string, app: string, environment: string) {
  const event = httpEvent('not-found', {
    method: 'POST',
    path: '/v1/deployments',
    routeKey: 'POST /v1/deployments',
    token,
    body: { app, environment, tag: '1.5.0', reason: 'oidc test' },
  });
  return parsed(await routes().create(event, lambdaContext()));
}

async function byId(id: string, token: string, action?: 'approve' | 'cancel') {
  const event = httpEvent('not-found', {
    method: action ? 'POST' : 'GET',
    path: `/v1/deployments/${id}${action ? `/${action}` : ''}`,
    routeKey: action ? `POST /v1/deployments/{id}/${action}` : 'GET /v1/deployments/{id}',
    pathParameters: { id },
    token,
  });
  const route = routes();
  return parsed(await (action ? route[action] : route.get)(event, lambdaContext()));
}

async function listApps(token: string) {
  const { status, body } = parsed(
    await routes().apps(httpEvent('not-found', { path: '/v1/apps', routeKey: 'GET /v1/apps', token }), lambdaContext()),
  );
  expect(status).toBe(200);
  return body.apps.map((app: { name: string; environments: Array<{ name: string }> }) => [
    app.name,
    app.environments.map((env) => env.name),
  ]);
}

/** A token as GitHub Actions mints it for org/shop on main, with `overrides` applied. */
function githubToken(overrides: JWTPayload = {}, key = signingKey, kid = 'key-1') {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: issuer,
    aud: 'slipway',
    sub: 'repo:org/shop:ref:refs/heads/main',
    repository: 'org/shop',
    repository_owner: 'org',
    ref: 'refs/heads/main',
    workflow: 'deploy',
    event_name: 'push',
    actor: 'alice',
    actor_id: '1001',
    iat: now - 30,
    nbf: now - 30,
    exp: now + 300,
    ...overrides,
  })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .sign(key.privateKey);
}

describe('a GitHub Actions token for org/shop on main', () => {
  it('deploys shop/staging, recorded under its OIDC name', async () => {
    const { status, body } = await deploy(await githubToken(), 'shop', 'staging');

    expect(status).toBe(202);
    expect(body.deployment).toMatchObject({
      app: 'shop',
      environment: 'staging',
      state: 'IN_PROGRESS',
      requestedBy: { name: `oidc:${new URL(issuer).host}:repo:org/shop:ref:refs/heads/main` },
    });
  });

  it('is 403 for production, which its rule excludes, and nothing is deployed', async () => {
    const { status, body } = await deploy(await githubToken(), 'shop', 'production');

    expect(status).toBe(403);
    expect(body.error).toEqual({
      code: 'FORBIDDEN',
      message: `oidc:${new URL(issuer).host}:repo:org/shop:ref:refs/heads/main may not act on environment production: its scope excludes production`,
      details: {
        scope: { apps: ['shop'], excludeEnvironments: ['production'] },
        requested: { app: 'shop', environment: 'production' },
      },
    });
    expect(aws.ecs.calls()).toHaveLength(0);
    // And the refusal is in the audit trail under the workflow's OIDC name, with the scope it broke
    const [entry] = await trail.entries();
    expect(entry).toMatchObject({
      actor: `oidc:${new URL(issuer).host}:repo:org/shop:ref:refs/heads/main`,
      roles: ['deployer'],
      action: 'createDeployment',
      decision: 'denied',
      target: { app: 'shop', environment: 'production' },
      outcome: { result: 'refused', status: 403, code: 'FORBIDDEN', detail: body.error.message },
    });
  });

  it('is 403 for app billing', async () => {
    const { status, body } = await deploy(await githubToken(), 'billing', 'staging');

    expect(status).toBe(403);
    expect(body.error.message).toMatch(/may act on apps shop only, not billing$/);
  });

  it('is 403 promoting to production, and sees only shop staging in the listing', async () => {
    const event = httpEvent('not-found', {
      method: 'POST',
      path: '/v1/apps/shop/environments/production/promote',
      pathParameters: { app: 'shop', env: 'production' },
      token: await githubToken(),
      body: {},
    });
    expect(parsed(await routes().promote(event, lambdaContext())).status).toBe(403);
    expect(await listApps(await githubToken())).toEqual([['shop', ['staging']]]);
  });

  it('read the issuer’s discovery document and keys once for every request so far', () => {
    expect(issued).toEqual(['/.well-known/openid-configuration', '/jwks']);
  });
});

describe('tokens the control plane does not accept', () => {
  const refused = async (token: string) => {
    const event = httpEvent('not-found', {
      path: '/v1/apps/shop/environments/staging',
      pathParameters: { app: 'shop', env: 'staging' },
      token,
    });
    return parsed(await routes().environment(event, lambdaContext()));
  };

  it.each([
    ['another audience', () => githubToken({ aud: 'https://github.com/org' }), /for another audience than slipway/],
    [
      'another issuer',
      () => githubToken({ iss: 'https://token.actions.githubusercontent.com' }),
      /is not one auth.oidc trusts/,
    ],
    [
      'an expired token',
      () => githubToken({ iat: Math.floor(Date.now() / 1000) - 7_200, exp: Math.floor(Date.now() / 1000) - 3_600 }),
      /has expired/,
    ],
    ['a key the issuer never published', () => githubToken({}, strangerKey, 'key-2'), /no single signing key/],
    ['a signature by another key', () => githubToken({}, strangerKey), /signature does not verify/],
    [
      'a tampered token',
      async () => {
        const [header, payload, signature] = (await githubToken()).split('.');
        const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString('utf8'));
        const forged = Buffer.from(JSON.stringify({ ...claims, repository: 'org/billing' })).toString('base64url');
        return `${header}.${forged}.${signature}`;
      },
      /signature does not verify/,
    ],
  ])('%s is a 401 that does not quote it', async (_case, make, reason) => {
    const token = await make();
    const { status, body } = await refused(token);

    expect(status).toBe(401);
    expect(body.error.code).toBe('UNAUTHENTICATED');
    expect(body.error.message).toMatch(reason);
    for (const part of token.split('.')) expect(JSON.stringify(body)).not.toContain(part);
  });

  it('a token whose claims match no rule is a 403 naming those claims', async () => {
    const token = await githubToken({
      repository: 'org/shop',
      ref: 'refs/heads/feature-x',
      sub: 'repo:org/shop:ref:refs/heads/feature-x',
      actor: 'mallory',
    });
    const { status, body } = await refused(token);

    expect(status).toBe(403);
    expect(body.error.message).toBe(
      `no rule of issuer ${issuer} matches this token's claims (repository=org/shop, ref=refs/heads/feature-x, workflow=deploy, sub=repo:org/shop:ref:refs/heads/feature-x)`,
    );
    expect(JSON.stringify(body)).not.toContain('mallory');
  });

  it('a second rule lets a tag of another org repository read, but not deploy', async () => {
    const token = await githubToken({
      repository: 'org/docs',
      ref: 'refs/tags/v1.2.0',
      sub: 'repo:org/docs:ref:refs/tags/v1.2.0',
    });
    expect(await listApps(token)).toEqual([
      ['shop', ['staging', 'production']],
      ['billing', ['staging']],
      ['ledger', ['staging']],
    ]);
    const { status, body } = await deploy(token, 'shop', 'staging');
    expect(status).toBe(403);
    expect(body.error.details).toEqual({ required: 'deploy', roles: ['viewer'] });
  });
});

describe('approvals by OIDC callers count people, not subs', () => {
  const HOST = () => new URL(issuer).host;
  /** A run of the approve workflow of org/shop on `branch`, started by the GitHub user `actorId`. */
  const approveRun = (actorId: string, branch: string) =>
    githubToken({
      workflow: 'approve',
      actor_id: actorId,
      actor: `user-${actorId}`,
      ref: `refs/heads/${branch}`,
      sub: `repo:org/shop:ref:refs/heads/${branch}`,
    });
  /** Alice (user 1001) asks for ledger staging from the ledger repository's CI; it needs two approvals. */
  const requestLedger = async () => {
    const requested = await deploy(
      await githubToken({ repository: 'org/ledger', sub: 'repo:org/ledger:ref:refs/heads/main' }),
      'ledger',
      'staging',
    );
    expect(requested.status).toBe(202);
    expect(requested.body.deployment).toMatchObject({
      state: 'PENDING_APPROVAL',
      requestedBy: { person: `oidc:${HOST()}:actor_id=1001` },
    });
    return requested.body.deployment.id as string;
  };

  it('refuses the requester approving their own deployment from another branch', async () => {
    // Given alice requested a deployment through one workflow
    const id = await requestLedger();

    // When alice approves it from a run of the approve workflow on another branch (another sub)
    const { status, body } = await byId(id, await approveRun('1001', 'feature-x'), 'approve');

    // Then it is refused as self-approval, and the deployment waits unapproved
    expect(status).toBe(403);
    expect(body.error.message).toBe(
      `oidc:${HOST()}:repo:org/shop:ref:refs/heads/feature-x (oidc:${HOST()}:actor_id=1001) requested deployment ${id} and cannot approve it too`,
    );
    expect((await byId(id, ops)).body.deployment).toMatchObject({ state: 'PENDING_APPROVAL', approvals: { by: [] } });
  });

  it('counts two approvals by one person under different subs once', async () => {
    // Given bob (user 1002) approved from one branch
    const id = await requestLedger();
    const first = await byId(id, await approveRun('1002', 'main'), 'approve');
    expect(first.status).toBe(200);
    expect(first.body.deployment.approvals.by).toEqual([
      {
        by: `oidc:${HOST()}:repo:org/shop:ref:refs/heads/main`,
        person: `oidc:${HOST()}:actor_id=1002`,
        at: expect.any(String),
      },
    ]);

    // When bob approves again from another branch
    const second = await byId(id, await approveRun('1002', 'release'), 'approve');

    // Then it is a 409, and the deployment still waits for a second person
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(/actor_id=1002\) has already approved deployment/);
    expect((await byId(id, ops)).body.deployment).toMatchObject({ state: 'PENDING_APPROVAL' });
    expect((await byId(id, ops)).body.deployment.approvals.by).toHaveLength(1);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);

    // And carol (user 1003), a second person, starts it
    const third = await byId(id, await approveRun('1003', 'main'), 'approve');
    expect(third.status).toBe(200);
    expect(third.body.deployment.state).toBe('IN_PROGRESS');
  });
});

describe('scoped tokens from the tokens secret', () => {
  it('deploy inside their scope and are refused outside it, naming the scope', async () => {
    expect((await deploy(shopStagingCi, 'shop', 'staging')).status).toBe(202);

    const production = await deploy(shopStagingCi, 'shop', 'production');
    expect(production.status).toBe(403);
    expect(production.body.error).toEqual({
      code: 'FORBIDDEN',
      message: 'token ci may act on environments staging only, not production',
      details: {
        scope: { apps: ['shop'], environments: ['staging'] },
        requested: { app: 'shop', environment: 'production' },
      },
    });

    const billing = await deploy(shopStagingCi, 'billing', 'staging');
    expect(billing.body.error.message).toBe('token ci may act on apps shop only, not billing');
  });

  it('cannot read, approve or cancel a deployment of another app by its id', async () => {
    // Given ops asked for a billing deployment, which waits for an approval
    const requested = await deploy(ops, 'billing', 'staging');
    expect(requested.body.deployment.state).toBe('PENDING_APPROVAL');
    const id = requested.body.deployment.id;

    // Then a token scoped to shop gets 403 for it, whatever it does, and the record is not shown
    for (const action of [undefined, 'approve', 'cancel'] as const) {
      const { status, body } = await byId(id, shopCi, action);
      expect(status).toBe(403);
      expect(body.error.message).toBe('token shop-ci may act on apps shop only, not billing');
      expect(JSON.stringify(body)).not.toContain('PENDING_APPROVAL');
    }
    // And the deployment is still waiting, unapproved
    expect((await byId(id, approver)).body.deployment).toMatchObject({
      state: 'PENDING_APPROVAL',
      approvals: { by: [] },
    });

    // While an unscoped approver approves it
    expect((await byId(id, approver, 'approve')).status).toBe(200);
  });

  it('cannot approve a production deployment of its own app outside its environments', async () => {
    const requested = await deploy(ops, 'shop', 'production');
    const { status } = await byId(requested.body.deployment.id, shopStagingCi, 'approve');
    expect(status).toBe(403);
    expect((await byId(requested.body.deployment.id, shopCi, 'approve')).status).toBe(200);
  });

  it('see only their apps and environments in GET /v1/apps', async () => {
    expect(await listApps(ops)).toEqual([
      ['shop', ['staging', 'production']],
      ['billing', ['staging']],
      ['ledger', ['staging']],
    ]);
    expect(await listApps(shopCi)).toEqual([['shop', ['staging', 'production']]]);
    expect(await listApps(shopStagingCi)).toEqual([['shop', ['staging']]]);
  });

  it('are refused backups, which belong to no app, while an unscoped token is not', async () => {
    const id = 'bkp-00000000-0000-4000-8000-000000000001';
    const event = (token: string) =>
      httpEvent('not-found', { path: `/v1/backups/${id}`, pathParameters: { id }, token });
    const scoped = parsed(await routes().backup(event(shopCi), lambdaContext()));
    expect(scoped.status).toBe(403);
    expect(scoped.body.error.message).toBe(
      'token shop-ci is limited to some apps or environments, so it may not use backups, which belong to no app; only a principal without a scope may',
    );
    const github = parsed(await routes().backup(event(await githubToken()), lambdaContext()));
    expect(github.status).toBe(403);
    expect(parsed(await routes().backup(event(ops), lambdaContext())).status).toBe(404);
  });
});
