import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { ROLES, type Role } from '../../lib/auth/principal';
import type { TokenSource } from '../../lib/auth/token-source';
import { hashToken, mintToken, type TokenEntry } from '../../lib/auth/tokens';

/** The HTTP API samples in events/, as `sls invoke local -p` runs them. */
export type HttpSample =
  | 'get-health'
  | 'get-liveness'
  | 'get-readiness'
  | 'get-me'
  | 'get-console'
  | 'get-environment'
  | 'list-restores'
  | 'not-found';

export function sampleEvent(name: HttpSample): APIGatewayProxyEventV2 {
  return JSON.parse(readFileSync(new URL(`../../events/http.${name}.json`, import.meta.url), 'utf8'));
}

export interface RequestShape {
  method?: string;
  /** The raw path, without the query string. */
  path?: string;
  /** Defaults to `<method> <path>`; pass the route's template (`GET /v1/apps/{app}`) when there is one. */
  routeKey?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  /** Merged over the sample's headers, names lower-cased as API Gateway sends them; `undefined` removes one. */
  headers?: Record<string, string | undefined>;
  /** Sets `authorization: Bearer <token>`; `null` removes any authorization the sample carries. */
  token?: string | null;
  /** A string is sent as is; anything else as JSON, with `content-type: application/json` unless given. */
  body?: unknown;
  base64?: boolean;
  requestId?: string;
}

let requestCounter = 0;

/** A v2 (HTTP API) event: the sample's shape, with this request's method, path, headers and body. */
export function httpEvent(
  sample: HttpSample | APIGatewayProxyEventV2,
  shape: RequestShape = {},
): APIGatewayProxyEventV2 {
  const base = typeof sample === 'string' ? sampleEvent(sample) : structuredClone(sample);
  const method = shape.method ?? base.requestContext.http.method;
  const path = shape.path ?? base.rawPath;
  const routeKey = shape.routeKey ?? (base.routeKey === '$default' ? '$default' : `${method} ${path}`);

  const headers: Record<string, string> = {};
  const given: Record<string, string | undefined> = {};
  if (shape.token === null) given.authorization = undefined;
  else if (shape.token !== undefined) given.authorization = `Bearer ${shape.token}`;
  // Explicit headers win over `token`, so a test can send a malformed Authorization.
  Object.assign(given, shape.headers);
  let body: string | undefined;
  if (shape.body !== undefined) {
    body = typeof shape.body === 'string' ? shape.body : JSON.stringify(shape.body);
    if (typeof shape.body !== 'string' && !Object.keys(given).some((name) => name.toLowerCase() === 'content-type')) {
      given['content-type'] = 'application/json';
    }
  }
  const removed = new Set(Object.keys(given).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries({ ...base.headers })) {
    if (value !== undefined && !removed.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  for (const [name, value] of Object.entries(given)) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }

  requestCounter += 1;
  const event: APIGatewayProxyEventV2 = {
    ...base,
    routeKey,
    rawPath: path,
    rawQueryString: shape.query ? new URLSearchParams(shape.query).toString() : '',
    headers,
    requestContext: {
      ...base.requestContext,
      routeKey,
      requestId: shape.requestId ?? `test-request-${requestCounter}`,
      http: { ...base.requestContext.http, method, path },
    },
    isBase64Encoded: shape.base64 ?? false,
  };
  if (shape.query) event.queryStringParameters = { ...shape.query };
  if (shape.pathParameters) event.pathParameters = { ...shape.pathParameters };
  if (body !== undefined) event.body = shape.base64 ? Buffer.from(body, 'utf8').toString('base64') : body;
  return event;
}

/** A Lambda context as the runtime passes it; only the fields the handlers and Powertools read matter. */
export function lambdaContext(overrides: Partial<Context> = {}): Context {
  const functionName = overrides.functionName ?? 'slipway-test-http';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/22/[$LATEST]abcdef0123456789abcdef0123456789',
    getRemainingTimeInMillis: () => 28_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...overrides,
  };
}

export interface MemoryTokens {
  source: TokenSource;
  /** A minted token for each role, held by a principal named `test-<role>`. */
  tokens: Record<Role, string>;
  entries: TokenEntry[];
  /** How many times the source was read. */
  reads: () => number;
  /** Adds a principal and returns its token. */
  add: (name: string, roles: Role[]) => string;
}

/** An in-memory token source, with one freshly minted token per role. */
export function memoryTokenSource(): MemoryTokens {
  const entries: TokenEntry[] = [];
  let reads = 0;
  const add = (name: string, roles: Role[]) => {
    const token = mintToken();
    entries.push({ name, sha256: hashToken(token), roles: [...roles], createdAt: '2026-11-22T03:00:00.000Z' });
    return token;
  };
  const tokens = Object.fromEntries(ROLES.map((role) => [role, add(`test-${role}`, [role])])) as Record<Role, string>;
  return {
    source: async () => {
      reads += 1;
      return entries.map((entry) => ({ ...entry, roles: [...entry.roles] }));
    },
    tokens,
    entries,
    reads: () => reads,
    add,
  };
}
