import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { makeHandler as makeApprove } from '../../../functions/http/approve-deployment';
import { makeHandler as makeCancel } from '../../../functions/http/cancel-deployment';
import { makeHandler as makeGet } from '../../../functions/http/get-deployment';
import { makeHandler as makeListApps } from '../../../functions/http/list-apps';
import { makeHandler as makePromote, promoteFromOf } from '../../../functions/http/promote-environment';
import type { Role, Scope } from '../../../lib/auth/principal';
import type { TokenSource } from '../../../lib/auth/token-source';
import { hashToken, mintToken, type TokenEntry } from '../../../lib/auth/tokens';
import type { DeploymentRequest, Deployments } from '../../../lib/deploy/deployments';
import { NotFound } from '../../../lib/errors';
import { noIdempotency } from '../../../lib/store/idempotency';
import { memoryAudit } from '../../support/audit';
import { httpEvent, lambdaContext } from '../../support/http';

/**
 * The scope checks only handlers can make: a deployment's own app and environment (read before acting),
 * the listing, and a promotion's source. The use case is a fake that records what it was asked to do.
 */

const { audit } = memoryAudit();
const entries: TokenEntry[] = [];
const add = (name: string, roles: Role[], scope: Pick<Scope, 'apps' | 'environments'> = {}) => {
  const token = mintToken();
  entries.push({ name, sha256: hashToken(token), roles, ...scope });
  return token;
};
const tokens: TokenSource = async () => entries.map((entry) => ({ ...entry }));
const ops = add('ops', ['admin']);
const shopCi = add('ci', ['deployer', 'approver'], { apps: ['shop'] });
const stagingCi = add('staging-ci', ['deployer', 'approver'], { environments: ['staging'] });

const SHOP_PROD = 'dep-00000000-0000-4000-8000-000000000001';
const BILLING = 'dep-00000000-0000-4000-8000-000000000002';
const records: Record<string, { id: string; app: string; environment: string; state: string }> = {
  [SHOP_PROD]: { id: SHOP_PROD, app: 'shop', environment: 'production', state: 'PENDING_APPROVAL' },
  [BILLING]: { id: BILLING, app: 'billing', environment: 'staging', state: 'PENDING_APPROVAL' },
};

let acted: string[];
let requested: DeploymentRequest[];
const deployments = {
  get: async (id: string) => {
    const record = records[id];
    if (!record) throw new NotFound(`no deployment ${id}`);
    return record;
  },
  approve: async (id: string) => {
    acted.push(`approve ${id}`);
    return records[id];
  },
  cancel: async (id: string) => {
    acted.push(`cancel ${id}`);
    return records[id];
  },
  apps: async () => ({
    apps: [
      { name: 'shop', environments: [{ name: 'staging' }, { name: 'production', promoteFrom: 'staging' }] },
      { name: 'billing', environments: [{ name: 'staging' }] },
    ],
  }),
  request: async (request: DeploymentRequest) => {
    requested.push(request);
    return { dryRun: true, plan: {} };
  },
} as unknown as Deployments;

beforeEach(() => {
  acted = [];
  requested = [];
});

function parsed(response: APIGatewayProxyStructuredResultV2) {
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

const byId = (id: string, token: string, action?: 'approve' | 'cancel') =>
  httpEvent('not-found', {
    method: action ? 'POST' : 'GET',
    path: `/v1/deployments/${id}${action ? `/${action}` : ''}`,
    pathParameters: { id },
    token,
  });

describe('a deployment addressed by id', () => {
  const get = makeGet({ tokens, deployments });
  const approve = makeApprove({ tokens, audit, deployments });
  const cancel = makeCancel({ tokens, audit, deployments });

  it('is shown to a token whose scope covers its app', async () => {
    const { status, body } = parsed(await get(byId(SHOP_PROD, shopCi), lambdaContext()));
    expect(status).toBe(200);
    expect(body.deployment.id).toBe(SHOP_PROD);
  });

  it('is a 403, not a leak, to a token whose scope does not cover it', async () => {
    const { status, body } = parsed(await get(byId(BILLING, shopCi), lambdaContext()));
    expect(status).toBe(403);
    expect(body.error).toEqual({
      code: 'FORBIDDEN',
      message: 'token ci may act on apps shop only, not billing',
      details: { scope: { apps: ['shop'] }, requested: { app: 'billing', environment: 'staging' } },
    });
    expect(JSON.stringify(body)).not.toContain('PENDING_APPROVAL');
  });

  it.each([
    ['approve', approve],
    ['cancel', cancel],
  ] as const)('%s is refused before acting when the record is out of scope', async (action, handler) => {
    const { status, body } = parsed(await handler(byId(SHOP_PROD, stagingCi, action), lambdaContext()));
    expect(status).toBe(403);
    expect(body.error.message).toBe('token staging-ci may act on environments staging only, not production');
    expect(acted).toEqual([]);
  });

  it.each([
    ['approve', approve],
    ['cancel', cancel],
  ] as const)('%s acts when the record is in scope', async (action, handler) => {
    expect(parsed(await handler(byId(SHOP_PROD, shopCi, action), lambdaContext())).status).toBe(200);
    expect(acted).toEqual([`${action} ${SHOP_PROD}`]);
  });

  it('is still a 404 for an id that does not exist', async () => {
    const missing = 'dep-00000000-0000-4000-8000-000000000009';
    expect(parsed(await approve(byId(missing, shopCi, 'approve'), lambdaContext())).status).toBe(404);
  });
});

describe('GET /v1/apps', () => {
  const list = makeListApps({ tokens, deployments });
  const names = async (token: string) => {
    const { body } = parsed(await list(httpEvent('not-found', { path: '/v1/apps', token }), lambdaContext()));
    return body.apps.map((app: { name: string; environments: Array<{ name: string }> }) => [
      app.name,
      app.environments.map((env) => env.name),
    ]);
  };

  it('lists everything to an unscoped token', async () => {
    expect(await names(ops)).toEqual([
      ['shop', ['staging', 'production']],
      ['billing', ['staging']],
    ]);
  });

  it('lists only the apps and environments a scoped token covers', async () => {
    expect(await names(shopCi)).toEqual([['shop', ['staging', 'production']]]);
    expect(await names(stagingCi)).toEqual([
      ['shop', ['staging']],
      ['billing', ['staging']],
    ]);
  });
});

describe('POST /v1/apps/{app}/environments/{env}/promote', () => {
  const config = {
    apps: {
      shop: {
        environments: { qa: {}, staging: { promoteFrom: 'qa' }, production: { promoteFrom: 'staging' } },
      },
    },
  } as unknown as Parameters<typeof promoteFromOf>[0];
  const promote = makePromote({
    tokens,
    audit,
    deployments,
    idempotency: noIdempotency,
    promoteFrom: promoteFromOf(config),
  });
  const promoteWithoutConfig = makePromote({ tokens, audit, deployments, idempotency: noIdempotency });
  const event = (env: string, token: string, body: Record<string, unknown> = {}) =>
    httpEvent('not-found', {
      method: 'POST',
      path: `/v1/apps/shop/environments/${env}/promote`,
      pathParameters: { app: 'shop', env },
      token,
      body: { dryRun: true, ...body },
    });

  it('refuses a source named in `from` that is out of scope', async () => {
    const staging = add('staging-only', ['deployer'], { environments: ['staging'] });
    const { status, body } = parsed(await promote(event('staging', staging, { from: 'qa' }), lambdaContext()));
    expect(status).toBe(403);
    expect(body.error).toMatchObject({
      message: 'token staging-only may act on environments staging only, not qa',
      details: { requested: { app: 'shop', environment: 'qa' } },
    });
    expect(requested).toEqual([]);
  });

  it("refuses the target's configured promoteFrom when it is out of scope", async () => {
    const { status, body } = parsed(await promote(event('staging', stagingCi), lambdaContext()));
    expect(status).toBe(403);
    expect(body.error.details.requested).toEqual({ app: 'shop', environment: 'qa' });
  });

  it('promotes when both the target and the source are in scope', async () => {
    const both = add('both', ['deployer'], { environments: ['staging', 'production'] });
    expect(parsed(await promote(event('production', both), lambdaContext())).status).toBe(200);
    expect(requested).toMatchObject([{ app: 'shop', environment: 'production', target: { kind: 'promote' } }]);
  });

  it('refuses the target first, in the chain', async () => {
    const { status, body } = parsed(
      await promote(event('production', stagingCi, { from: 'staging' }), lambdaContext()),
    );
    expect(status).toBe(403);
    expect(body.error.details.requested).toEqual({ app: 'shop', environment: 'production' });
  });

  it('refuses, rather than guesses, when the source cannot be known', async () => {
    const both = add('both-again', ['deployer'], { environments: ['staging', 'production'] });
    const { status, body } = parsed(await promoteWithoutConfig(event('production', both), lambdaContext()));
    expect(status).toBe(403);
    expect(body.error.message).toMatch(
      /does not name the environment it reads; name it \(for a promotion, in "from"\)$/,
    );
  });

  it('lets an app-scoped token promote without naming the source', async () => {
    expect(parsed(await promoteWithoutConfig(event('production', shopCi), lambdaContext())).status).toBe(200);
  });
});
