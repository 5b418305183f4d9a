import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { type AuditNote, type AuditRecorder, httpAuditEntry } from '../audit/trail';
import { looksLikeJwt } from '../auth/oidc';
import { type Permission, type Principal, rolesGrant } from '../auth/principal';
import { noAppSubject, type RouteScope } from '../auth/route-scopes';
import { isScoped, requireScope, requireUnscoped } from '../auth/scope';
import type { Credentials } from '../auth/token-source';
import { bearerToken, findPrincipal } from '../auth/tokens';
import { Forbidden, InvalidInput, PayloadTooLarge, SlipwayError, Unauthenticated } from '../errors';
import { correlationIdPaths, holdSecretValue, logger, metrics } from '../observability';
import { errorBody, json } from './responses';

export const MAX_BODY_BYTES = 256 * 1024;

export type Access = 'public' | Permission;

/** What the chain reads of a route's spec (a registry entry, lib/http/registry.ts), whatever its schemas' types. */
export interface RouteSpec {
  /** Operation name, used in logs and metrics. */
  name: string;
  access: Access;
  scope: RouteScope;
  body?: z.core.$ZodType;
  path?: z.core.$ZodType;
  query?: z.core.$ZodType;
}

export interface RouteRequest<Body, Path, Query> {
  body: Body;
  path: Path;
  query: Query;
  headers: Record<string, string>;
  /** The body's bytes as sent (at most MAX_BODY_BYTES), for routes that verify a signature over it. */
  rawBody: Buffer;
  principal: Principal | undefined;
  requestId: string;
  method: string;
  rawPath: string;
  context: Context | undefined;
  /**
   * For a route that proves its caller itself (a signature, not a token): called once the proof holds,
   * so the request is audited in full from then on rather than sampled as an unauthenticated one.
   */
  authenticated: () => void;
  /** Adds to the request's audit entry, on a route that keeps one; later notes add to earlier ones. */
  note: (facts: AuditNote) => void;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A body that is not JSON (the console's page and assets), sent as it is; `body` is then left out. */
  raw?: { body: Buffer; contentType: string };
}

export interface RouteDeps {
  /** Required for any route that is not public: the tokens secret, and the OIDC issuers riding on it. */
  tokens?: Credentials;
}

type Infer<T> = T extends z.core.$ZodType ? z.core.output<T> : undefined;

function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[key.toLowerCase()] = value;
  }
  return out;
}

function validate<T extends z.core.$ZodType>(
  schema: T | undefined,
  input: unknown,
  location: 'body' | 'path' | 'query',
) {
  if (!schema) return undefined;
  // Standard Schema's validate: zod's own issues, without loading zod's parse functions into every route.
  const result = schema['~standard'].validate(input);
  if (result instanceof Promise) throw new Error('a route schema is asynchronous; the chain validates synchronously');
  if (!result.issues) return result.value as z.core.output<T>;
  const issues = result.issues.map((issue) => ({
    location,
    field: (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const where = first?.field ? `${location}.${first.field}` : location;
  throw new InvalidInput(`${where}: ${first?.message ?? 'is invalid'}`, { details: issues });
}

/** The body exactly as the client sent it: what a signature is computed over. */
function rawBodyOf(event: APIGatewayProxyEventV2): Buffer {
  const raw = event.body ?? '';
  const bytes = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLarge(`request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return bytes;
}

/** The body as JSON, refusing other content types; `{}` when empty. */
export function jsonBody(rawBody: Buffer, headers: Record<string, string>): unknown {
  const text = rawBody.toString('utf8');
  if (text.trim() === '') return {};
  const contentType = headers['content-type'];
  if (contentType && !/^application\/([a-z.+-]*\+)?json\b/i.test(contentType)) {
    throw new InvalidInput(`content-type ${contentType} is not supported; send application/json`, {
      details: [{ location: 'headers', field: 'content-type', message: 'expected application/json' }],
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInput('request body is not valid JSON', {
      cause: error,
      details: [{ location: 'body', field: '', message: (error as Error).message }],
    });
  }
}

/** Who presented the bearer token; their roles are checked apart, so a refusal still names them. */
async function identify(access: Access, headers: Record<string, string>, tokens: Credentials | undefined) {
  if (access === 'public') return undefined;
  const token = bearerToken(headers.authorization);
  if (!token) throw new Unauthenticated();
  if (!tokens) throw new SlipwayError('MISCONFIGURED', 500, 'route has no token source');
  let principal: Principal | undefined;
  if (looksLikeJwt(token)) {
    // A JWT is an OIDC caller's: verified against its issuer's keys and matched against auth.oidc rules.
    if (!tokens.oidc)
      throw new Unauthenticated('the bearer token is a JWT, and no OIDC issuer is configured (auth.oidc)');
    principal = await tokens.oidc(token);
  } else {
    principal = findPrincipal(token, await tokens());
    if (!principal) throw new Unauthenticated('the bearer token is not valid');
  }
  return principal;
}

function authorize(access: Access, principal: Principal | undefined): void {
  if (!principal || access === 'public') return;
  if (!rolesGrant(principal.roles, access)) {
    throw new Forbidden(
      `this route needs the ${access} permission, which roles ${principal.roles.join(', ')} do not grant`,
      {
        details: { required: access, roles: principal.roles },
      },
    );
  }
}

const stringField = (value: unknown, key: string): string | undefined => {
  const field = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return typeof field === 'string' ? field : undefined;
};

/**
 * The scope checks the chain makes itself (each route's spec says which it needs: lib/auth/route-scopes.ts).
 * Records and listings are the handlers' to check; see requireScope and visibleApps.
 */
function refuseNoAppRoute(spec: RouteSpec, principal: Principal | undefined): void {
  if (principal && spec.scope === 'no-app') requireUnscoped(principal, noAppSubject(spec.name));
}

/** {app, env} in the path, {app, environment} in the body: checked before the handler runs. */
function checkTargetScope(spec: RouteSpec, principal: Principal | undefined, path: unknown, body: unknown): void {
  if (!principal || !isScoped(principal)) return;
  const { name, scope: kind } = spec;
  if (kind !== 'path' && kind !== 'promotion' && kind !== 'body') return;
  const [app, environment] =
    kind === 'body'
      ? [stringField(body, 'app'), stringField(body, 'environment')]
      : [stringField(path, 'app'), stringField(path, 'env')];
  // The table and the route's schema disagree: refuse rather than let a scoped principal through.
  if (app === undefined || environment === undefined) {
    throw new SlipwayError('MISCONFIGURED', 500, `route ${name} has no app and environment to check the scope of`);
  }
  requireScope(principal, { app, environment });
}

/** The one place errors become HTTP responses; a 5xx never carries internals. */
export function toErrorResponse(error: unknown, requestId: string): APIGatewayProxyStructuredResultV2 {
  if (error instanceof SlipwayError && error.expose) {
    // A server fault whose message is shown (a 503 saying what to set) still names the request to quote.
    const details =
      error.status >= 500 && !Array.isArray(error.details) ? { ...error.details, requestId } : error.details;
    return json(error.status, errorBody(error.code, error.message, details));
  }
  const status = error instanceof SlipwayError ? error.status : 500;
  const code = error instanceof SlipwayError ? error.code : 'INTERNAL';
  return json(
    status,
    errorBody(code, `the request failed on the server; quote request id ${requestId}`, { requestId }),
  );
}

type HttpHandler = middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>;

/**
 * A route: the middy chain in the documented order (credential guard,
 * logger, metrics, authentication and parsing, error mapping) around a plain async function.
 */
export function httpRoute<
  Body extends z.core.$ZodType | undefined = undefined,
  Path extends z.core.$ZodType | undefined = undefined,
  Query extends z.core.$ZodType | undefined = undefined,
>(
  spec: { name: string; access: Access; scope: RouteScope; body?: Body; path?: Path; query?: Query },
  deps: RouteDeps,
  handle: (request: RouteRequest<Infer<Body>, Infer<Path>, Infer<Query>>) => Promise<RouteResult>,
): HttpHandler {
  return buildRoute(spec, deps, handle, undefined);
}

/**
 * A route that changes something: httpRoute's chain, and every request it answers, whatever the
 * answer, written to the audit trail. Reads use httpRoute and never reach the trail.
 */
export function auditedRoute<
  Body extends z.core.$ZodType | undefined = undefined,
  Path extends z.core.$ZodType | undefined = undefined,
  Query extends z.core.$ZodType | undefined = undefined,
>(
  spec: { name: string; access: Access; scope: RouteScope; body?: Body; path?: Path; query?: Query },
  deps: RouteDeps & { audit: AuditRecorder },
  handle: (request: RouteRequest<Infer<Body>, Infer<Path>, Infer<Query>>) => Promise<RouteResult>,
): HttpHandler {
  return buildRoute(spec, deps, handle, (facts) => auditRequests(spec.name, deps.audit, facts));
}

interface RequestFacts {
  principal?: Principal;
  /** The caller was proven: by a token or JWT, or by the route's own check. */
  authenticated?: boolean;
  body?: unknown;
  response?: unknown;
  noted?: AuditNote;
}

type ChainRequest = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
type ChainMiddleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/**
 * Records each request once it has its response: after the chain has turned any error into one. A
 * request refused before its caller was proven is only sampled (the first per source and minute): an
 * anonymous flood must not write an entry per request, nor crowd the real ones out of the trail.
 */
function auditRequests(
  route: string,
  audit: AuditRecorder,
  facts: (request: ChainRequest) => RequestFacts,
): ChainMiddleware {
  const record = async (request: ChainRequest) => {
    const seen = facts(request);
    const status = request.response?.statusCode ?? 500;
    const sourceIp = request.event?.requestContext?.http?.sourceIp;
    const entry = httpAuditEntry({
      route,
      requestId: request.event?.requestContext?.requestId ?? request.context.awsRequestId,
      principal: seen.principal,
      path: request.event?.pathParameters,
      body: seen.body,
      status,
      response: seen.response,
      error: request.error ?? undefined,
      sourceIp,
      ...(seen.noted ? { noted: seen.noted } : {}),
    });
    if (!seen.authenticated && status >= 400) await audit.sample(entry, sourceIp);
    else await audit.record(entry);
  };
  return { after: record, onError: record };
}

function buildRoute<Body, Path, Query>(
  spec: RouteSpec,
  deps: RouteDeps,
  handle: (request: RouteRequest<Body, Path, Query>) => Promise<RouteResult>,
  auditing: ((facts: (request: ChainRequest) => RequestFacts) => ChainMiddleware) | undefined,
): HttpHandler {
  // What the audit entry of a request needs, as far as the request got before it ended.
  const seen = new WeakMap<APIGatewayProxyEventV2, RequestFacts>();
  const core = async (event: APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const facts: RequestFacts = {};
    seen.set(event, facts);
    const headers = lowerCaseHeaders(event.headers);
    const principal = await identify(spec.access, headers, deps.tokens);
    if (principal) {
      facts.principal = principal;
      facts.authenticated = true;
      logger.appendKeys({ principal: principal.name });
    }
    authorize(spec.access, principal);
    // A route that names no app is refused to a scoped principal before its body is even read.
    refuseNoAppRoute(spec, principal);
    const rawBody = rawBodyOf(event);
    const body = (spec.body ? validate(spec.body, jsonBody(rawBody, headers), 'body') : undefined) as Body;
    facts.body = body;
    const path = validate(spec.path, event.pathParameters ?? {}, 'path') as Path;
    checkTargetScope(spec, principal, path, body);
    const request = {
      body,
      rawBody,
      path,
      query: validate(spec.query, event.queryStringParameters ?? {}, 'query') as Query,
      headers,
      principal,
      requestId: event.requestContext?.requestId ?? 'unknown',
      method: event.requestContext?.http?.method ?? 'GET',
      rawPath: event.rawPath ?? '/',
      context,
      authenticated: () => {
        facts.authenticated = true;
      },
      note: (noted: AuditNote) => {
        facts.noted = {
          ...facts.noted,
          ...noted,
          target: { ...facts.noted?.target, ...noted.target },
        };
      },
    };
    const result = await handle(request);
    facts.response = result.body;
    if (result.raw) {
      return {
        statusCode: result.status,
        headers: { 'content-type': result.raw.contentType, ...result.headers },
        body: result.raw.body.toString('base64'),
        isBase64Encoded: true,
      };
    }
    return json(result.status, result.body, result.headers);
  };

  // The presented token is redacted from the first log line (the event, when event logging is on) to the last.
  const releases = new WeakMap<object, () => void>();
  const release = (request: object) => {
    releases.get(request)?.();
    releases.delete(request);
  };
  const guardCredentials: middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> = {
    before: (request) => {
      releases.set(request, holdSecretValue(bearerToken(lowerCaseHeaders(request.event?.headers).authorization)));
    },
    after: release,
    onError: release,
  };

  const started = new WeakMap<object, number>();
  const observe: middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> = {
    before: (request) => {
      started.set(request, performance.now());
      metrics.addDimension('Route', spec.name);
    },
    after: (request) => {
      const status = request.response?.statusCode ?? 500;
      metrics.addMetric('Requests', MetricUnit.Count, 1);
      if (status >= 500) metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
      // Every refused credential counts here; the trail keeps only a sample of them.
      if (status === 401) metrics.addMetric('UnauthenticatedRequests', MetricUnit.Count, 1);
      logger.info('request handled', {
        route: spec.name,
        method: request.event.requestContext?.http?.method,
        path: request.event.rawPath,
        status,
        latency_ms: Math.round(performance.now() - (started.get(request) ?? performance.now())),
      });
    },
    onError: (request) => {
      const requestId = request.event?.requestContext?.requestId ?? request.context.awsRequestId;
      const error = request.error;
      const status = error instanceof SlipwayError ? error.status : 500;
      if (status >= 500) logger.error('request failed', { route: spec.name, error: error as Error });
      request.response = toErrorResponse(error, requestId);
      observe.after?.(request);
    },
  };

  // Used before observe, so it runs after it: by then an error has become its response.
  const audit = auditing?.((request) => seen.get(request.event) ?? {});

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(realRequestId)
    .use(guardCredentials)
    .use(injectLambdaContext(logger, { correlationIdPath: correlationIdPaths.http, resetKeys: true }))
    .use(logMetrics(metrics))
    .use(sandboxMark)
    .use(audit ? [audit, observe] : [observe])
    .handler(core);
}

/** serverless-offline's HTTP API events all carry this request id (its LambdaProxyIntegrationEventV2.js). */
export const OFFLINE_PLACEHOLDER_REQUEST_ID = 'offlineContext_resourceId';

/** Under `npm start` the request id logged, audited and quoted is the invocation's own (a UUID serverless-offline makes). */
const realRequestId: ChainMiddleware = {
  before: (request) => {
    const context = request.event?.requestContext;
    if (context?.requestId === OFFLINE_PLACEHOLDER_REQUEST_ID && request.context?.awsRequestId) {
      context.requestId = request.context.awsRequestId;
    }
  },
};

export const SANDBOX_RESPONSE_HEADER = 'x-slipway-sandbox';

/** Whether this control plane runs against `npm start -- --sandbox`'s simulated AWS (the launcher sets the endpoint). */
export function isSandbox(env: Record<string, string | undefined> = process.env): boolean {
  return env.IS_OFFLINE === 'true' && Boolean(env.SLIPWAY_SANDBOX_ENDPOINT);
}

/** Every answer of a sandboxed control plane says so, errors included: used before observe, it runs after it. */
const sandboxMark: ChainMiddleware = {
  after: (request) => {
    if (request.response && isSandbox()) {
      request.response.headers = { ...request.response.headers, [SANDBOX_RESPONSE_HEADER]: 'true' };
    }
  },
};
sandboxMark.onError = sandboxMark.after;
