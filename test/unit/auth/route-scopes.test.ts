import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import type { Role, Scope } from '../../../lib/auth/principal';
import type { RouteScope } from '../../../lib/auth/route-scopes';
import type { TokenSource } from '../../../lib/auth/token-source';
import { hashToken, mintToken, type TokenEntry } from '../../../lib/auth/tokens';
import { type ApiRoute, apiRoutes } from '../../../lib/http/registry';
import { httpRoute, type RouteRequest } from '../../../lib/http/route-chain';
import { httpEvent, lambdaContext } from '../../support/http';

/** Tokens with scopes, as the tokens secret holds them. */
function scopedTokens() {
  const entries: TokenEntry[] = [];
  const add = (name: string, roles: Role[], scope: Pick<Scope, 'apps' | 'environments'> = {}) => {
    const token = mintToken();
    entries.push({ name, sha256: hashToken(token), roles, ...scope });
    return token;
  };
  const source: TokenSource = async () => entries.map((entry) => ({ ...entry }));
  return { add, source };
}

const tokens = scopedTokens();
const ops = tokens.add('ops', ['admin']);
const shopCi = tokens.add('ci', ['deployer'], { apps: ['shop'] });
const stagingCi = tokens.add('staging-ci', ['deployer'], { environments: ['staging'] });
const shopViewer = tokens.add('shop-viewer', ['viewer'], { apps: ['shop'] });

function parsed(response: APIGatewayProxyStructuredResultV2) {
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

/** A route of the registry whose handler only records that it ran. */
function recorded<K extends keyof typeof apiRoutes>(name: K) {
  const calls: Array<RouteRequest<unknown, unknown, unknown>> = [];
  const handler = httpRoute(
    apiRoutes[name] as { name: string; access: (typeof apiRoutes)[K]['access']; scope: RouteScope },
    { tokens: tokens.source },
    async (request) => {
      calls.push(request as RouteRequest<unknown, unknown, unknown>);
      return { status: 200, body: { ran: true } };
    },
  );
  return { calls, handler };
}

const keysOf = (schema: z.core.$ZodType | undefined): string[] =>
  schema && 'shape' in schema ? Object.keys((schema as unknown as { shape: object }).shape) : [];

describe('the scope each route of the registry names', () => {
  const routes: Array<[string, ApiRoute]> = Object.entries(apiRoutes);

  it.each(routes)('agrees with what %s names', (_name, route) => {
    const expected: RouteScope[] = [];
    if (route.access === 'public') expected.push('open');
    else if (keysOf(route.path).includes('app') && keysOf(route.path).includes('env')) {
      expected.push('path', 'promotion');
    } else if (keysOf(route.body).includes('app') && keysOf(route.body).includes('environment')) {
      expected.push('body');
    } else if (/^\/v1\/deployments\/\{id\}/.test(route.pathTemplate)) expected.push('record');
    else if (/^\/v1\/(backups|restores|audit)\b/.test(route.pathTemplate)) expected.push('no-app');
    else if (route.pathTemplate === '/v1/apps') expected.push('listing');
    else expected.push('open');
    expect(expected).toContain(route.scope);
  });
});

describe('httpRoute: scope checks the chain makes', () => {
  const get = (token: string, app: string, env: string) =>
    httpEvent('not-found', {
      method: 'GET',
      path: `/v1/apps/${app}/environments/${env}`,
      routeKey: 'GET /v1/apps/{app}/environments/{env}',
      pathParameters: { app, env },
      token,
    });

  describe('path {app, env}', () => {
    it('lets a scoped token act on its app', async () => {
      const route = recorded('getEnvironment');
      expect(parsed(await route.handler(get(shopCi, 'shop', 'production'), lambdaContext())).status).toBe(200);
      expect(route.calls).toHaveLength(1);
    });

    it('is 403 naming the scope for another app, and the handler never runs', async () => {
      const route = recorded('getEnvironment');
      const { status, body } = parsed(await route.handler(get(shopCi, 'billing', 'staging'), lambdaContext()));
      expect(status).toBe(403);
      expect(body.error).toEqual({
        code: 'FORBIDDEN',
        message: 'token ci may act on apps shop only, not billing',
        details: { scope: { apps: ['shop'] }, requested: { app: 'billing', environment: 'staging' } },
      });
      expect(route.calls).toHaveLength(0);
    });

    it('is 403 naming the scope for another environment', async () => {
      const route = recorded('listDeployments');
      const event = httpEvent('not-found', {
        path: '/v1/apps/shop/environments/production/deployments',
        pathParameters: { app: 'shop', env: 'production' },
        token: stagingCi,
      });
      const { status, body } = parsed(await route.handler(event, lambdaContext()));
      expect(status).toBe(403);
      expect(body.error.message).toBe('token staging-ci may act on environments staging only, not production');
    });

    it.each(['rollbackEnvironment', 'promoteEnvironment', 'restartEnvironment', 'scaleEnvironment'] as const)(
      'refuses %s on an environment out of scope before the handler runs',
      async (name) => {
        const route = recorded(name);
        const event = httpEvent('not-found', {
          method: 'POST',
          path: '/v1/apps/shop/environments/production/x',
          pathParameters: { app: 'shop', env: 'production' },
          token: stagingCi,
          body: name === 'scaleEnvironment' ? { desiredCount: 2 } : {},
        });
        expect(parsed(await route.handler(event, lambdaContext())).status).toBe(403);
        expect(route.calls).toHaveLength(0);
      },
    );

    it('still answers 400 for a path that is not valid, before any scope is judged', async () => {
      const route = recorded('getEnvironment');
      expect(parsed(await route.handler(get(shopCi, 'Billing', 'staging'), lambdaContext())).status).toBe(400);
    });

    it('judges the permission before the scope', async () => {
      const route = recorded('rollbackEnvironment');
      const event = httpEvent('not-found', {
        method: 'POST',
        path: '/v1/apps/billing/environments/staging/rollback',
        pathParameters: { app: 'billing', env: 'staging' },
        token: shopViewer,
        body: {},
      });
      const { status, body } = parsed(await route.handler(event, lambdaContext()));
      expect(status).toBe(403);
      expect(body.error.details).toEqual({ required: 'deploy', roles: ['viewer'] });
    });
  });

  describe('body {app, environment}', () => {
    const deploy = (token: string, app: string, environment: string) =>
      httpEvent('not-found', {
        method: 'POST',
        path: '/v1/deployments',
        token,
        body: { app, environment, tag: '1.5.0' },
      });

    it('lets a scoped token deploy its app', async () => {
      const route = recorded('createDeployment');
      expect(parsed(await route.handler(deploy(shopCi, 'shop', 'staging'), lambdaContext())).status).toBe(200);
    });

    it('is 403 for another app, before the handler (and its idempotency record) runs', async () => {
      const route = recorded('createDeployment');
      const { status, body } = parsed(await route.handler(deploy(shopCi, 'billing', 'staging'), lambdaContext()));
      expect(status).toBe(403);
      expect(body.error.details).toEqual({
        scope: { apps: ['shop'] },
        requested: { app: 'billing', environment: 'staging' },
      });
      expect(route.calls).toHaveLength(0);
    });

    it('is 403 for another environment', async () => {
      const route = recorded('createDeployment');
      const { status, body } = parsed(await route.handler(deploy(stagingCi, 'shop', 'production'), lambdaContext()));
      expect(status).toBe(403);
      expect(body.error.message).toBe('token staging-ci may act on environments staging only, not production');
    });
  });

  describe('routes that name no app', () => {
    it.each(['listBackups', 'getBackup', 'getRestore'] as const)(
      'refuses %s to a scoped token, even a reading one',
      async (name) => {
        const route = recorded(name);
        const event = httpEvent('not-found', {
          path: '/v1/backups/x',
          pathParameters: { id: 'bkp-1' },
          token: shopViewer,
        });
        const { status, body } = parsed(await route.handler(event, lambdaContext()));
        expect(status).toBe(403);
        expect(body.error.message).toMatch(
          /^token shop-viewer is limited to some apps or environments, so it may not use (backups|restores)/,
        );
        expect(route.calls).toHaveLength(0);
      },
    );

    it('refuses takeBackup to a scoped token before reading its body', async () => {
      const route = recorded('takeBackup');
      const event = httpEvent('not-found', {
        method: 'POST',
        path: '/v1/backups',
        token: stagingCi,
        body: '{not json',
      });
      const { status, body } = parsed(await route.handler(event, lambdaContext()));
      expect(status).toBe(403);
      expect(body.error.details).toEqual({ scope: { environments: ['staging'] }, requested: { route: 'backups' } });
    });

    it('serves an unscoped token', async () => {
      const route = recorded('listBackups');
      const event = httpEvent('not-found', { path: '/v1/backups', token: ops });
      expect(parsed(await route.handler(event, lambdaContext())).status).toBe(200);
    });

    it('closes a route built outside the registry that names no app to scoped tokens', async () => {
      const handler = httpRoute(
        { name: 'adHoc', access: 'read', scope: 'no-app' },
        { tokens: tokens.source },
        async () => ({
          status: 200,
        }),
      );
      const event = httpEvent('not-found', { path: '/x', token: shopCi });
      expect(parsed(await handler(event, lambdaContext())).status).toBe(403);
      expect((await handler(httpEvent('not-found', { path: '/x', token: ops }), lambdaContext())).statusCode).toBe(200);
    });
  });

  describe('routes the handler judges, and open ones', () => {
    it.each(['listApps', 'getReadiness'] as const)('lets a scoped token reach %s', async (name) => {
      const route = recorded(name);
      const event = httpEvent('not-found', { path: '/v1/apps', token: shopViewer });
      expect(parsed(await route.handler(event, lambdaContext())).status).toBe(200);
      expect(route.calls[0]?.principal).toEqual({ name: 'shop-viewer', roles: ['viewer'], scope: { apps: ['shop'] } });
    });

    it('lets a scoped token reach a record route, whose handler checks the record it loads', async () => {
      const route = recorded('getDeployment');
      const event = httpEvent('not-found', {
        path: '/v1/deployments/x',
        pathParameters: { id: 'dep-00000000-0000-4000-8000-000000000001' },
        token: shopViewer,
      });
      expect(parsed(await route.handler(event, lambdaContext())).status).toBe(200);
    });
  });

  it('refuses a scoped principal with 500, not a pass, when a path route has no {app, env} to check', async () => {
    const handler = httpRoute(
      { name: 'getEnvironment', access: 'read', scope: 'path' },
      { tokens: tokens.source },
      async () => ({
        status: 200,
      }),
    );
    expect((await handler(httpEvent('not-found', { path: '/x', token: shopCi }), lambdaContext())).statusCode).toBe(
      500,
    );
    expect((await handler(httpEvent('not-found', { path: '/x', token: ops }), lambdaContext())).statusCode).toBe(200);
  });
});
