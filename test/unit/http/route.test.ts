import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { makeHandler as makeGetHealth } from '../../../functions/http/get-health';
import { makeHandler as makeGetLiveness } from '../../../functions/http/get-liveness';
import { makeHandler as makeGetReadiness } from '../../../functions/http/get-readiness';
import { makeHandler as makeNotFound } from '../../../functions/http/not-found';
import { ROLES } from '../../../lib/auth/principal';
import { Unavailable, UpstreamFailed } from '../../../lib/errors';
import type { DependencyCheck } from '../../../lib/health/readiness';
import { httpRoute, MAX_BODY_BYTES, OFFLINE_PLACEHOLDER_REQUEST_ID } from '../../../lib/http/route-chain';
import { httpEvent, lambdaContext, memoryTokenSource } from '../../support/http';

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function parsed(response: APIGatewayProxyStructuredResultV2) {
  return { statusCode: response.statusCode, headers: response.headers, body: JSON.parse(response.body ?? '') };
}

const tokens = memoryTokenSource();

/** A deploy-shaped route: every kind of input, and it answers with what it was given. */
const deployRoute = httpRoute(
  {
    name: 'testDeploy',
    access: 'deploy',
    scope: 'no-app',
    path: z.object({ app: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lowercase app name') }),
    query: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
    body: z.strictObject({ environment: z.string().min(1), replicas: z.number().int().positive() }),
  },
  { tokens: tokens.source },
  async (request) => ({
    status: 200,
    body: { principal: request.principal, path: request.path, query: request.query, body: request.body },
  }),
);

const deployRequest = (shape: Parameters<typeof httpEvent>[1] = {}) =>
  httpEvent('not-found', {
    method: 'POST',
    path: '/v1/apps/shop/deploy',
    routeKey: 'POST /v1/apps/{app}/deploy',
    pathParameters: { app: 'shop' },
    token: tokens.tokens.deployer,
    body: { environment: 'staging', replicas: 2 },
    ...shape,
  });

describe('an authenticated route (access: deploy)', () => {
  it('is 401 without a token', async () => {
    // Given a request with no Authorization header
    const event = deployRequest({ token: null });

    // When it is handled
    const response = await deployRoute(event, lambdaContext());

    // Then it is refused before anything else is looked at
    expect(parsed(response)).toEqual({
      statusCode: 401,
      headers: JSON_HEADERS,
      body: { error: { code: 'UNAUTHENTICATED', message: 'a valid bearer token is required', details: {} } },
    });
  });

  it.each([
    ['a token nobody minted', { token: 'slw_this-token-was-never-minted-anywhere' }],
    ['a scheme other than Bearer', { headers: { authorization: `Basic ${tokens.tokens.admin}` } }],
  ])('is 401 with %s', async (_, shape) => {
    const response = await deployRoute(deployRequest(shape), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 401,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'UNAUTHENTICATED',
          message: 'token' in shape ? 'the bearer token is not valid' : 'a valid bearer token is required',
          details: {},
        },
      },
    });
  });

  it.each(['viewer', 'approver'] as const)('is 403 for a %s, naming the permission it lacks', async (role) => {
    const response = await deployRoute(deployRequest({ token: tokens.tokens[role] }), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 403,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'FORBIDDEN',
          message: `this route needs the deploy permission, which roles ${role} do not grant`,
          details: { required: 'deploy', roles: [role] },
        },
      },
    });
  });

  it.each(['deployer', 'admin'] as const)('is 200 for a %s, with the parsed input', async (role) => {
    const event = deployRequest({ token: tokens.tokens[role], query: { dryRun: 'true' } });

    const response = await deployRoute(event, lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 200,
      headers: JSON_HEADERS,
      body: {
        principal: { name: `test-${role}`, roles: [role] },
        path: { app: 'shop' },
        query: { dryRun: 'true' },
        body: { environment: 'staging', replicas: 2 },
      },
    });
  });

  it('accepts the header in any case and a JSON content type with parameters', async () => {
    const event = deployRequest({
      token: null,
      headers: { Authorization: `bearer ${tokens.tokens.deployer}`, 'Content-Type': 'application/json; charset=utf-8' },
    });

    const response = await deployRoute(event, lambdaContext());

    expect(response.statusCode).toBe(200);
  });

  it('decodes a base64-encoded body', async () => {
    const response = await deployRoute(deployRequest({ base64: true }), lambdaContext());

    expect(parsed(response).body.body).toEqual({ environment: 'staging', replicas: 2 });
  });

  it('authenticates before it parses: a bad body from a stranger is still a 401', async () => {
    const response = await deployRoute(deployRequest({ token: null, body: '{not json' }), lambdaContext());

    expect(response.statusCode).toBe(401);
  });
});

describe('input validation', () => {
  it('is 400 INVALID_INPUT for a body that is not JSON', async () => {
    const response = await deployRoute(
      deployRequest({ body: '{"environment": "staging",', headers: { 'content-type': 'application/json' } }),
      lambdaContext(),
    );

    expect(parsed(response)).toEqual({
      statusCode: 400,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'INVALID_INPUT',
          message: 'request body is not valid JSON',
          details: [{ location: 'body', field: '', message: expect.any(String) }],
        },
      },
    });
  });

  it('is 400 naming the field, its location and what is wrong for a field of the wrong type', async () => {
    const response = await deployRoute(
      deployRequest({ body: { environment: 'staging', replicas: 'two' } }),
      lambdaContext(),
    );

    expect(parsed(response)).toEqual({
      statusCode: 400,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'INVALID_INPUT',
          message: 'body.replicas: Invalid input: expected number, received string',
          details: [
            { location: 'body', field: 'replicas', message: 'Invalid input: expected number, received string' },
          ],
        },
      },
    });
  });

  it('lists every problem in details, unknown fields included', async () => {
    const response = await deployRoute(deployRequest({ body: { replicas: 0, force: true } }), lambdaContext());

    const { body } = parsed(response);
    expect(response.statusCode).toBe(400);
    expect(body.error.details).toEqual(
      expect.arrayContaining([
        { location: 'body', field: 'environment', message: expect.any(String) },
        { location: 'body', field: 'replicas', message: expect.any(String) },
        { location: 'body', field: '', message: expect.stringContaining('force') },
      ]),
    );
    expect(body.error.details).toHaveLength(3);
  });

  it('is 400 for a missing body when the route expects one', async () => {
    const event = deployRequest();
    delete event.body;

    const response = await deployRoute(event, lambdaContext());

    expect(response.statusCode).toBe(400);
    expect(parsed(response).body.error.details).toEqual([
      { location: 'body', field: 'environment', message: expect.any(String) },
      { location: 'body', field: 'replicas', message: expect.any(String) },
    ]);
  });

  it('is 400 for a bad query parameter', async () => {
    const response = await deployRoute(deployRequest({ query: { dryRun: 'maybe' } }), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 400,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'INVALID_INPUT',
          message: expect.stringMatching(/^query\.dryRun: /),
          details: [{ location: 'query', field: 'dryRun', message: expect.any(String) }],
        },
      },
    });
  });

  it('is 400 for a bad path parameter', async () => {
    const event = deployRequest({ path: '/v1/apps/Shop!/deploy', pathParameters: { app: 'Shop!' } });

    const response = await deployRoute(event, lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 400,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'INVALID_INPUT',
          message: 'path.app: must be a lowercase app name',
          details: [{ location: 'path', field: 'app', message: 'must be a lowercase app name' }],
        },
      },
    });
  });

  it('is 413 for a body over 256 KiB', async () => {
    const body = JSON.stringify({ environment: 'x'.repeat(MAX_BODY_BYTES), replicas: 1 });

    const response = await deployRoute(
      deployRequest({ body, headers: { 'content-type': 'application/json' } }),
      lambdaContext(),
    );

    expect(parsed(response)).toEqual({
      statusCode: 413,
      headers: JSON_HEADERS,
      body: {
        error: { code: 'PAYLOAD_TOO_LARGE', message: 'request body is larger than 262144 bytes', details: {} },
      },
    });
  });

  it('accepts a body of exactly 256 KiB', async () => {
    const frame = JSON.stringify({ environment: '', replicas: 1 });
    const body = JSON.stringify({ environment: 'x'.repeat(MAX_BODY_BYTES - frame.length), replicas: 1 });
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);

    const response = await deployRoute(deployRequest({ body }), lambdaContext());

    expect(response.statusCode).toBe(200);
  });

  it('is 400 for a text/plain body', async () => {
    const response = await deployRoute(
      deployRequest({ body: '{"environment":"staging","replicas":2}', headers: { 'content-type': 'text/plain' } }),
      lambdaContext(),
    );

    expect(parsed(response)).toEqual({
      statusCode: 400,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'INVALID_INPUT',
          message: 'content-type text/plain is not supported; send application/json',
          details: [{ location: 'headers', field: 'content-type', message: 'expected application/json' }],
        },
      },
    });
  });
});

describe('server faults', () => {
  it('is 500 with a generic message that quotes the request id and none of the error', async () => {
    // Given a handler that fails with an internal detail in its message
    const route = httpRoute({ name: 'exploding', access: 'public', scope: 'open' }, {}, async () => {
      throw new Error('connect ECONNREFUSED 10.0.3.7:5432 (user slipway_admin)');
    });

    // When it is called
    const response = await route(httpEvent('get-health', { requestId: 'req-500' }), lambdaContext());

    // Then the caller learns only that it failed, and how to quote it
    expect(parsed(response)).toEqual({
      statusCode: 500,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'INTERNAL',
          message: 'the request failed on the server; quote request id req-500',
          details: { requestId: 'req-500' },
        },
      },
    });
    expect(response.body).not.toMatch(/ECONNREFUSED|10\.0\.3\.7|slipway_admin/);
  });

  it('keeps the status and code of a SlipwayError 5xx but not its message or cause', async () => {
    const route = httpRoute({ name: 'upstream', access: 'public', scope: 'open' }, {}, async () => {
      throw new UpstreamFailed('ECS said: AccessDenied for role arn:aws:iam::123456789012:role/x', {
        cause: new Error('inner'),
        details: { arn: 'arn:aws:iam::123456789012:role/x' },
      });
    });

    const response = await route(httpEvent('get-health', { requestId: 'req-502' }), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 502,
      headers: JSON_HEADERS,
      body: {
        error: {
          code: 'UPSTREAM_FAILED',
          message: 'the request failed on the server; quote request id req-502',
          details: { requestId: 'req-502' },
        },
      },
    });
  });

  it("quotes the invocation's request id under serverless-offline, whose events all carry a placeholder", async () => {
    // Given a route that fails, and an event with serverless-offline's placeholder request id
    const route = httpRoute({ name: 'offline', access: 'public', scope: 'open' }, {}, async () => {
      throw new Error('boom');
    });
    const event = httpEvent('get-health', { requestId: OFFLINE_PLACEHOLDER_REQUEST_ID });

    // When it is handled in an invocation with its own id
    const response = await route(event, lambdaContext({ awsRequestId: '0d9c4a3e-5f1b-4c7e-9a2d-6b8f1e3c5a70' }));

    // Then the id quoted is the invocation's, never the placeholder
    expect(parsed(response).body.error).toEqual({
      code: 'INTERNAL',
      message: 'the request failed on the server; quote request id 0d9c4a3e-5f1b-4c7e-9a2d-6b8f1e3c5a70',
      details: { requestId: '0d9c4a3e-5f1b-4c7e-9a2d-6b8f1e3c5a70' },
    });
  });

  it('names the request to quote in a 5xx whose message is shown, keeping its message and details', async () => {
    // Given a route that fails with a server fault meant for the caller, under serverless-offline
    const route = httpRoute({ name: 'unreachable', access: 'public', scope: 'open' }, {}, async () => {
      throw new Unavailable('ECS and ECR are not reachable from this machine', { details: { service: 'ecs' } });
    });
    const event = httpEvent('get-health', { requestId: OFFLINE_PLACEHOLDER_REQUEST_ID });

    // When it is handled in an invocation with its own id
    const response = await route(event, lambdaContext({ awsRequestId: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b' }));

    // Then the caller reads why, and the invocation's id to quote
    expect(parsed(response)).toMatchObject({
      statusCode: 503,
      body: {
        error: {
          code: 'UNAVAILABLE',
          message: 'ECS and ECR are not reachable from this machine',
          details: { service: 'ecs', requestId: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b' },
        },
      },
    });
  });

  it('marks every answer X-Slipway-Sandbox: true under npm start -- --sandbox, and none otherwise', async () => {
    const ok = httpRoute({ name: 'ok', access: 'public', scope: 'open' }, {}, async () => ({ status: 200, body: {} }));
    const failing = httpRoute(
      { name: 'failing', access: 'read', scope: 'no-app' },
      { tokens: tokens.source },
      async () => ({
        status: 200,
      }),
    );
    const saved = {
      IS_OFFLINE: process.env.IS_OFFLINE,
      SLIPWAY_SANDBOX_ENDPOINT: process.env.SLIPWAY_SANDBOX_ENDPOINT,
    };
    try {
      // Given the launcher's environment without a sandbox: no mark
      process.env.IS_OFFLINE = 'true';
      delete process.env.SLIPWAY_SANDBOX_ENDPOINT;
      expect((await ok(httpEvent('get-health'), lambdaContext())).headers).toEqual(JSON_HEADERS);

      // When the sandbox's endpoint is set
      process.env.SLIPWAY_SANDBOX_ENDPOINT = 'http://127.0.0.1:45999';

      // Then a success and a refusal both carry the mark
      const answered = await ok(httpEvent('get-health'), lambdaContext());
      const refused = await failing(httpEvent('get-health', { token: null }), lambdaContext());
      expect(refused.statusCode).toBe(401);
      for (const response of [answered, refused])
        expect(response.headers).toEqual({ ...JSON_HEADERS, 'x-slipway-sandbox': 'true' });
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('is 500, not a crash, for a non-public route built without a token source', async () => {
    const route = httpRoute({ name: 'misconfigured', access: 'read', scope: 'no-app' }, {}, async () => ({
      status: 200,
    }));

    const response = await route(httpEvent('get-health', { token: tokens.tokens.admin }), lambdaContext());

    expect(response.statusCode).toBe(500);
    expect(parsed(response).body.error.code).toBe('MISCONFIGURED');
  });
});

describe('GET /health/ready', () => {
  const healthy = (name: string): DependencyCheck => ({ name, probe: async () => undefined });
  const failing = (name: string): DependencyCheck => ({
    name,
    probe: async () => {
      throw Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket' });
    },
  });
  const readiness = (checks: DependencyCheck[]) => makeGetReadiness({ tokens: tokens.source, checks, timeoutMs: 500 });

  it.each(ROLES)('is 200 for a %s', async (role) => {
    const handler = readiness([healthy('stateTable'), healthy('backupBucket')]);

    const response = await handler(httpEvent('get-readiness', { token: tokens.tokens[role] }), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 200,
      headers: JSON_HEADERS,
      body: {
        status: 'healthy',
        failing: [],
        checks: {
          stateTable: { status: 'healthy', latency_ms: expect.any(Number) },
          backupBucket: { status: 'healthy', latency_ms: expect.any(Number) },
        },
      },
    });
  });

  it('is 401 without a token, and runs no check', async () => {
    let probed = false;
    const handler = readiness([
      {
        name: 'stateTable',
        probe: async () => {
          probed = true;
        },
      },
    ]);

    const response = await handler(httpEvent('get-readiness', { token: null }), lambdaContext());

    expect(response.statusCode).toBe(401);
    expect(parsed(response).body.error.code).toBe('UNAUTHENTICATED');
    expect(probed).toBe(false);
  });

  it('is 401 with the placeholder token of the sample event', async () => {
    const handler = readiness([healthy('stateTable')]);

    const response = await handler(httpEvent('get-readiness'), lambdaContext());

    expect(response.statusCode).toBe(401);
  });

  it('is 503 naming the failing check', async () => {
    const handler = readiness([healthy('stateTable'), failing('backupBucket')]);

    const response = await handler(httpEvent('get-readiness', { token: tokens.tokens.viewer }), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 503,
      headers: JSON_HEADERS,
      body: {
        status: 'unhealthy',
        failing: ['backupBucket'],
        checks: {
          stateTable: { status: 'healthy', latency_ms: expect.any(Number) },
          backupBucket: {
            status: 'unhealthy',
            latency_ms: expect.any(Number),
            error: 'NoSuchBucket: The specified bucket does not exist',
          },
        },
      },
    });
  });
});

describe('the public routes', () => {
  it('answers an unknown route with a 404 in the usual error shape', async () => {
    const response = await makeNotFound()(httpEvent('not-found', { path: '/nope' }), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 404,
      headers: JSON_HEADERS,
      body: {
        error: { code: 'NOT_FOUND', message: 'no route for GET /nope', details: { method: 'GET', path: '/nope' } },
      },
    });
  });

  it('answers the not-found sample as is', async () => {
    const response = await makeNotFound()(httpEvent('not-found'), lambdaContext());

    expect(parsed(response).body.error.message).toBe('no route for GET /v1/no-such-route');
  });

  it('GET /health reports status, version, stage and uptime', async () => {
    const startedAt = Date.parse('2026-11-22T03:00:00Z');
    const handler = makeGetHealth({ version: '1.4.2', stage: 'prod', startedAt, now: () => startedAt + 90_500 });

    const response = await handler(httpEvent('get-health'), lambdaContext());

    expect(parsed(response)).toEqual({
      statusCode: 200,
      headers: JSON_HEADERS,
      body: { status: 'ok', version: '1.4.2', stage: 'prod', uptime_seconds: 90 },
    });
  });

  it('GET /health says so, with its endpoint, under npm start -- --sandbox', async () => {
    const handler = makeGetHealth({
      version: '1.4.2',
      stage: 'sandbox',
      startedAt: 0,
      now: () => 1_000,
      sandboxEndpoint: 'http://127.0.0.1:45999',
    });

    const response = await handler(httpEvent('get-health'), lambdaContext());

    expect(parsed(response).body).toEqual({
      status: 'ok',
      version: '1.4.2',
      stage: 'sandbox',
      uptime_seconds: 1,
      sandbox: { endpoint: 'http://127.0.0.1:45999' },
    });
  });

  it('GET /health/live is alive, whatever token is sent', async () => {
    const response = await makeGetLiveness()(httpEvent('get-liveness', { token: 'garbage' }), lambdaContext());

    expect(parsed(response)).toEqual({ statusCode: 200, headers: JSON_HEADERS, body: { status: 'alive' } });
  });
});
