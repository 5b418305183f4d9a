import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { makeHandler as makeGetHealth } from '../../../functions/http/get-health';
import { makeHandler as makeGetLiveness } from '../../../functions/http/get-liveness';
import { makeHandler as makeGetOpenapi } from '../../../functions/http/get-openapi';
import { makeHandler as makeGetReadiness } from '../../../functions/http/get-readiness';
import {
  type OpenApiDocument,
  type OpenApiOperation,
  openApiDocument,
  writeOpenApiDocument,
} from '../../../lib/http/openapi';
import { readOpenApiDocument } from '../../../lib/http/openapi-file';
import {
  type ApiRoute,
  apiRoutes,
  errorResponse,
  healthResponse,
  livenessResponse,
  readinessResponse,
} from '../../../lib/http/registry';
import { MAX_BODY_BYTES } from '../../../lib/http/route-chain';
import { declaredFunctions } from '../../../lib/local/serverless-cli';
import { metrics } from '../../../lib/observability';
import { memoryAudit } from '../../support/audit';
import { httpEvent, lambdaContext, memoryTokenSource } from '../../support/http';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const document = openApiDocument(apiRoutes, { version });
const registry: Readonly<Record<string, ApiRoute | undefined>> = apiRoutes;

const DOCUMENT_REF = '/openapi.json';
type LintConfig = Awaited<ReturnType<typeof createConfig>>;
const lint = async (doc: unknown, config: LintConfig) =>
  (await lintFromString({ source: JSON.stringify(doc, null, 2), absoluteRef: DOCUMENT_REF, config })).filter(
    (problem) => !problem.ignored,
  );
const shown = (problems: NormalizedProblem[]) =>
  problems.map(
    (problem) => `${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`,
  );

/**
 * Redocly's recommended ruleset, with its one false positive on this document set aside:
 * no-required-schema-properties-undefined looks for a required name in the outermost oneOf's branches only (all of
 * them), not in the object that holds a nested oneOf. `pointInTime` is a property of the RDS restore branch whose
 * "backupId or pointInTime" constraint requires it; the volume and dump branches have no such property.
 */
const recommended = () =>
  createConfig(
    { extends: ['recommended'] },
    {
      ignore: {
        [DOCUMENT_REF]: {
          'no-required-schema-properties-undefined': new Set([
            '#/paths/~1v1~1restores/post/requestBody/content/application~1json/schema/oneOf/0/oneOf/1/required/0',
          ]),
        },
      },
    },
  );

interface ServedRoute {
  function: string;
  handler: string;
  method: string;
  path: string;
}

/**
 * The routes serverless.yml gives the HTTP API, except the catch-all `*` that answers 404 for any other, and the
 * web console's page (/console/…), which is a page for browsers and no operation of the API.
 */
function servedRoutes(): ServedRoute[] {
  return Object.entries(declaredFunctions()).flatMap(([name, fn]) =>
    (Array.isArray(fn.events) ? (fn.events as Array<{ httpApi?: '*' | { method: string; path: string } }>) : [])
      .flatMap(({ httpApi }) =>
        httpApi === undefined || httpApi === '*' || /^\/console(\/|$)/.test(httpApi.path) ? [] : [httpApi],
      )
      .map(({ method, path }) => ({ function: name, handler: fn.handler, method: method.toUpperCase(), path })),
  );
}

function documentedRoutes(doc: OpenApiDocument): Array<{ method: string; path: string; operation: OpenApiOperation }> {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );
}

const operationAt = (method: string, path: string) => document.paths[path]?.[method.toLowerCase()];

describe('the OpenAPI document', () => {
  it("lints clean with Redocly's recommended rules", async () => {
    // When the document is linted with the recommended rules
    const problems = await lint(document, await recommended());

    // Then there is nothing to report: no error and no warning
    expect(shown(problems)).toEqual([]);
  });

  it('is linted for real: an operation without a summary is an error', async () => {
    // Given the document with one summary taken out
    const broken = structuredClone(document) as unknown as {
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    delete broken.paths['/v1/deployments']?.post?.summary;

    // When it is linted with the same rules
    const problems = await lint(broken, await recommended());

    // Then the missing summary is reported as an error
    expect(shown(problems)).toEqual([
      expect.stringMatching(/^error operation-summary at #\/paths\/~1v1~1deployments\/post/),
    ]);
  });

  it("is OpenAPI 3.1.0 and carries the package's version", () => {
    expect({ openapi: document.openapi, version: document.info.version }).toEqual({ openapi: '3.1.0', version });
  });

  it('documents exactly the routes serverless.yml serves, with the same methods and paths', () => {
    // Given the routes API Gateway serves and the operations the document describes
    const served = new Set(servedRoutes().map(({ method, path }) => `${method} ${path}`));
    const documented = new Set(documentedRoutes(document).map(({ method, path }) => `${method} ${path}`));

    // Then neither has one the other lacks
    expect({
      servedButNotDocumented: [...served].filter((route) => !documented.has(route)).sort(),
      documentedButNotServed: [...documented].filter((route) => !served.has(route)).sort(),
    }).toEqual({ servedButNotDocumented: [], documentedButNotServed: [] });
    expect(served.size).toBe(Object.keys(apiRoutes).length);
  });

  it('names each operation after the function that serves it, which is its entry in the route registry', () => {
    // Given each served route, with the operation the document has for it and the registry entry of its function
    const names = servedRoutes().map((route) => {
      const entry = registry[route.function];
      return `${route.function}: operationId ${operationAt(route.method, route.path)?.operationId}, registry ${entry?.name} ${entry?.method} ${entry?.pathTemplate}`;
    });

    // Then all three agree on the name, and the registry on the method and path
    expect(names).toEqual(
      servedRoutes().map(
        (route) =>
          `${route.function}: operationId ${route.function}, registry ${route.function} ${route.method} ${route.path}`,
      ),
    );
  });

  it('asks for a bearer token on every route but the public ones, and names the permission it needs', () => {
    const described = (description: string) => {
      const match = /Public: no bearer token\.|grant the `(read|deploy|approve|admin)` permission/.exec(description);
      return match ? (match[1] ?? 'public') : 'not described';
    };
    const access = documentedRoutes(document).map(({ operation }) => ({
      operationId: operation.operationId,
      security: operation.security,
      permission: operation['x-slipway-permission'],
      described: described(operation.description),
    }));

    expect(access).toEqual(
      Object.values<ApiRoute>(apiRoutes).map((route) =>
        route.access === 'public'
          ? { operationId: route.name, security: [], permission: undefined, described: 'public' }
          : {
              operationId: route.name,
              security: [{ bearerAuth: [] }],
              permission: route.access,
              described: route.access,
            },
      ),
    );
    expect(
      access
        .filter(({ permission }) => permission === undefined)
        .map(({ operationId }) => operationId)
        .sort(),
    ).toEqual(['getHealth', 'getLiveness', 'getOpenapi', 'registryWebhook', 'slackInteractions']);
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('answers every error in the shared Error shape, except readiness, whose 503 is its report', () => {
    const errors = documentedRoutes(document).flatMap(({ operation }) =>
      Object.entries(operation.responses)
        .filter(([status]) => Number(status) >= 400)
        .map(([status, response]) => ({
          at: `${operation.operationId} ${status}`,
          schema: response.content?.['application/json'].schema,
        })),
    );

    expect(errors.filter(({ schema }) => schema?.$ref !== '#/components/schemas/Error').map(({ at }) => at)).toEqual([
      'getReadiness 503',
    ]);
    expect(document.components.schemas.Error).toMatchObject({
      type: 'object',
      required: ['error'],
      properties: { error: { required: ['code', 'message', 'details'] } },
    });
  });

  it('lists the statuses the route chain answers beside each route’s own', () => {
    const statuses = (method: string, path: string) => Object.keys(operationAt(method, path)?.responses ?? {});

    expect({
      getHealth: statuses('GET', '/health'),
      getDeployment: statuses('GET', '/v1/deployments/{id}'),
      createDeployment: statuses('POST', '/v1/deployments'),
    }).toEqual({
      getHealth: ['200', '413', '500'],
      getDeployment: ['200', '400', '401', '403', '404', '413', '500', '502'],
      createDeployment: ['200', '202', '400', '401', '403', '404', '409', '413', '422', '500', '502'],
    });
    expect(operationAt('POST', '/v1/deployments')?.responses['413']?.description).toBe(
      `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
    );
  });

  it('documents path parameters as required and query parameters one by one, required as the schema says', () => {
    expect(operationAt('GET', '/v1/apps/{app}/environments/{env}/deployments')?.parameters).toEqual([
      expect.objectContaining({
        name: 'app',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ type: 'string' }),
      }),
      expect.objectContaining({ name: 'env', in: 'path', required: true }),
      {
        name: 'limit',
        in: 'query',
        required: false,
        description: 'Deployments per page.',
        style: 'form',
        explode: true,
        schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
      },
      expect.objectContaining({ name: 'cursor', in: 'query', required: false, style: 'form' }),
    ]);
  });

  it('is plain JSON, and the same every time it is made', () => {
    const again = openApiDocument(apiRoutes, { version });

    expect(JSON.parse(JSON.stringify(document))).toStrictEqual(document);
    expect(JSON.stringify(again)).toBe(JSON.stringify(document));
  });
});

describe('a request body, as the document and the route see it', () => {
  /** What Redocly finds wrong with `body` as the example of the route's request body, checked against its schema. */
  const documentProblems = async (route: ApiRoute, body: unknown) => {
    // Additional properties are left to the schema, which refuses them where the route does.
    const config = await createConfig({
      rules: { 'no-invalid-media-type-examples': { severity: 'error', allowAdditionalProperties: true } },
    });
    const doc = structuredClone(document);
    const media = doc.paths[route.pathTemplate]?.[route.method.toLowerCase()]?.requestBody?.content['application/json'];
    if (!media) throw new Error(`the document has no request body for ${route.name}`);
    Object.assign(media, { example: body });
    return shown(await lint(doc, config));
  };

  const samples = servedRoutes().flatMap((route) => {
    const file = `events/http.${route.handler.replace(/^functions\/http\/(.+)\.handler$/, '$1')}.json`;
    const event = JSON.parse(readFileSync(file, 'utf8')) as APIGatewayProxyEventV2;
    const entry = registry[route.function];
    return event.body !== undefined && entry?.body
      ? [{ file, body: JSON.parse(event.body) as unknown, route: entry }]
      : [];
  });

  it('has a sample for each route that validates a body', () => {
    expect(samples.map(({ route }) => route.name).sort()).toEqual(
      ['createDeployment', 'createRestore', 'promoteEnvironment', 'scaleEnvironment', 'takeBackup'].sort(),
    );
  });

  it.each(samples.map((sample) => [sample.file, sample] as const))(
    '%s: the schema in the document and the route both accept its body',
    async (_, { body, route }) => {
      // When the document's schema and the route's check the sample's body
      const problems = await documentProblems(route, body);
      const issues = route.body ? z.safeParse(route.body, body).error?.issues : undefined;

      // Then both accept it
      expect({ problems, issues }).toEqual({ problems: [], issues: undefined });
    },
  );

  it.each<[string, keyof typeof apiRoutes, Record<string, unknown>]>([
    ['an unknown field', 'createDeployment', { app: 'shop', environment: 'staging', tag: '1.4.2', force: true }],
    [
      'both a tag and a digest',
      'createDeployment',
      { app: 'shop', environment: 'staging', tag: '1.4.2', digest: `sha256:${'a'.repeat(64)}` },
    ],
    ['neither a tag nor a digest', 'createDeployment', { app: 'shop', environment: 'staging' }],
    ['an app name in capitals', 'createDeployment', { app: 'Shop', environment: 'staging', tag: '1.4.2' }],
    ['a negative count', 'scaleEnvironment', { desiredCount: -1 }],
    ['both a database and a volume', 'takeBackup', { database: 'shop-db', volume: 'shop-uploads' }],
    ['a kind for a volume', 'takeBackup', { volume: 'shop-uploads', kind: 'postgres-dump' }],
    [
      'both a backup and a point in time',
      'createRestore',
      {
        database: 'shop-db',
        backupId: 'bkp-3f2a1c9e-0b4d-4e6f-8a1c-2d3e4f5a6b7c',
        pointInTime: 'latest',
        targetIdentifier: 'shop-restore',
      },
    ],
    ['an unknown kind', 'createRestore', { kind: 'tape', database: 'shop-db', targetIdentifier: 'shop-restore' }],
  ])('with %s, is refused by the document (%s) and by the route alike', async (_, name, body) => {
    // Given a body the route refuses
    const route: ApiRoute = apiRoutes[name];
    expect(route.body && z.safeParse(route.body, body).success).toBe(false);

    // When the document's schema checks it
    const problems = await documentProblems(route, body);

    // Then it refuses it too
    expect(problems).toContainEqual(expect.stringMatching(/^error no-invalid-media-type-examples /));
    expect(problems.filter((problem) => !problem.startsWith('error no-invalid-media-type-examples '))).toEqual([]);
  });
});

describe('each HTTP route, as its handler enforces it', () => {
  const tokens = memoryTokenSource();
  const { audit } = memoryAudit();
  const oversized = 'x'.repeat(MAX_BODY_BYTES + 1);
  const routes = servedRoutes();
  const addDimension = jest.spyOn(metrics, 'addDimension');

  afterAll(() => addDimension.mockRestore());

  const call = async (
    handle: (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>,
    route: ServedRoute,
    token: string | null,
  ) => {
    addDimension.mockClear();
    const response = await handle(
      httpEvent('get-health', {
        method: route.method,
        path: route.path,
        routeKey: `${route.method} ${route.path}`,
        token,
        headers: { 'content-type': 'application/json' },
        body: oversized,
      }),
      lambdaContext(),
    );
    const named = addDimension.mock.calls.find(([dimension]) => dimension === 'Route')?.[1];
    return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') as unknown, route: named };
  };

  it.each(routes.map((route) => [route.function, route] as const))(
    '%s reports its operationId and asks for what the document says',
    async (_, route) => {
      // Given the route's handler, built as its module builds it, with tokens held in memory
      const { makeHandler } = (await import(`../../../${route.handler.replace(/\.handler$/, '')}`)) as {
        makeHandler: (
          deps: unknown,
        ) => (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
      };
      const handle = makeHandler({ tokens: tokens.source, audit });
      const operation = operationAt(route.method, route.path) as OpenApiOperation;
      const permission = operation['x-slipway-permission'];

      // When it is called with a body too large to read, without a token and with a viewer's
      const anonymous = await call(handle, route, null);
      const viewer = await call(handle, route, tokens.tokens.viewer);

      // Then it names itself as the document does, and refuses at the door the document describes, before reading
      expect({ route: anonymous.route, status: anonymous.status }).toEqual({
        route: operation.operationId,
        status: permission === undefined ? 413 : 401,
      });
      expect(viewer.status).toBe(permission === undefined || permission === 'read' ? 413 : 403);
      if (viewer.status === 403) expect(viewer.body).toMatchObject({ error: { details: { required: permission } } });
      // And its errors have the documented shape
      expect(errorResponse.safeParse(anonymous.body).error?.issues).toBeUndefined();
      expect(errorResponse.safeParse(viewer.body).error?.issues).toBeUndefined();
    },
  );
});

describe('GET /v1/openapi.json', () => {
  const sample = JSON.parse(readFileSync('events/http.get-openapi.json', 'utf8')) as APIGatewayProxyEventV2;
  // The document as packaging writes it into the function's package.
  const dir = mkdtempSync(join(tmpdir(), 'slipway-openapi-'));
  const file = join(dir, 'generated', 'openapi.json');
  writeOpenApiDocument(apiRoutes, file);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers the document as JSON, with no token', async () => {
    // Given the route, as packaged with the package's version
    const handler = makeGetOpenapi({ version, file });

    // When it is called through its middy chain without a token
    const response = await handler(httpEvent(sample, { token: null }), lambdaContext());

    // Then it answers 200 with the document the linted one is
    expect({ status: response.statusCode, contentType: response.headers?.['content-type'] }).toEqual({
      status: 200,
      contentType: 'application/json',
    });
    const body = JSON.parse(response.body ?? '');
    expect(body).toMatchObject({ openapi: '3.1.0', info: { title: 'Slipway API', version } });
    expect(body).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('answers every request, with a token or without, with the same document of its version', async () => {
    // Given the route, packaged as another version
    const handler = makeGetOpenapi({ version: '9.9.9', file });

    // When it is called twice, once with a token nobody minted
    const first = await handler(httpEvent(sample, { token: null }), lambdaContext());
    const second = await handler(httpEvent(sample, { token: 'slw_not-looked-at' }), lambdaContext());

    // Then both answers are the document of that version
    expect({ status: second.statusCode, same: second.body === first.body }).toEqual({ status: 200, same: true });
    expect(JSON.parse(second.body ?? '').info.version).toBe('9.9.9');
  });

  it('is written at package time as the document made from the registry, but for the version set when served', () => {
    // Given the file packaging wrote

    // When it is read back for the package's version
    const read = readOpenApiDocument(version, file);

    // Then it is the document the registry makes, field for field
    expect(read).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('refuses a file that is not the document packaging writes, naming the file', () => {
    // Given a file that is JSON but no OpenAPI document, and one that is not there
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ openapi: '3.0.0', info: { version: '1.0.0' } }));

    // When each is read, then each is refused with its path and what to do
    expect(() => readOpenApiDocument(version, other)).toThrow(`${other}: is not an OpenAPI 3.1 document`);
    expect(() => readOpenApiDocument(version, join(dir, 'missing.json'))).toThrow(
      `${join(dir, 'missing.json')}: cannot be read as JSON; sls package and npm start write it`,
    );
  });
});

describe('the documented answers of the health routes', () => {
  it.each([
    ['GET /health', () => makeGetHealth({ version, stage: 'test', startedAt: 0, now: () => 61_000 }), healthResponse],
    ['GET /health/live', () => makeGetLiveness(), livenessResponse],
  ] as const)('%s answers what its schema says', async (_, make, schema) => {
    const response = await make()(httpEvent('get-health'), lambdaContext());

    expect(response.statusCode).toBe(200);
    expect(schema.safeParse(JSON.parse(response.body ?? '')).error?.issues).toBeUndefined();
  });

  it.each<[string, number, () => Promise<void>]>([
    ['every dependency answers', 200, async () => undefined],
    ['a dependency is down', 503, async () => Promise.reject(new Error('connection refused'))],
  ])('GET /health/ready answers its documented report when %s', async (_, status, probe) => {
    // Given readiness over two dependencies, the second answering as the case says
    const tokens = memoryTokenSource();
    const handler = makeGetReadiness({
      tokens: tokens.source,
      timeoutMs: 1_000,
      checks: [
        { name: 'stateTable', probe: async () => undefined },
        { name: 'ecs', probe },
      ],
    });

    // When a viewer asks
    const response = await handler(httpEvent('get-readiness', { token: tokens.tokens.viewer }), lambdaContext());

    // Then the status is the documented one and the body has the documented shape
    expect(response.statusCode).toBe(status);
    expect(Object.keys(operationAt('GET', '/health/ready')?.responses ?? {})).toContain(String(status));
    expect(readinessResponse.safeParse(JSON.parse(response.body ?? '')).error?.issues).toBeUndefined();
  });
});
