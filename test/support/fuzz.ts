import { runInThisContext } from 'node:vm';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import * as z from 'zod';
import { ROLES } from '../../lib/auth/principal';
import type { TokenSource } from '../../lib/auth/token-source';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { Conflict, Forbidden, InvalidInput, NotFound, type SlipwayError, Unprocessable } from '../../lib/errors';
import { MAX_BODY_BYTES } from '../../lib/http/route-chain';
import { httpEvent, memoryTokenSource } from './http';

/**
 * Hostile input for the property-based fuzz suite (test/unit/fuzz): requests and events as an
 * attacker or a broken client would send them, fakes that answer as a use case may (plain data or a
 * typed 4xx), and the checks every answer must pass. fast-check prints the seed and the shrunk
 * counterexample of a failure; rerun one with SLIPWAY_FUZZ_SEED=<seed>.
 */

/** Bounded so the whole suite stays well under a minute; raise it locally to dig deeper. */
export const FUZZ_RUNS = Number(process.env.SLIPWAY_FUZZ_RUNS ?? 60);
/** Per test: generous for the default runs, growing with SLIPWAY_FUZZ_RUNS. */
export const FUZZ_TIMEOUT_MS = Math.max(20_000, FUZZ_RUNS * 100);
export const fuzzParameters = (numRuns = FUZZ_RUNS): fc.Parameters<unknown> => ({
  numRuns,
  ...(process.env.SLIPWAY_FUZZ_SEED ? { seed: Number(process.env.SLIPWAY_FUZZ_SEED) } : {}),
});

// ---------------------------------------------------------------------------------------------
// Unhandled rejections fail the suite

/**
 * Collects every unhandled rejection while a suite runs; `assertNone` fails with them. jest would
 * otherwise report one late, against whichever test happens to be running, or not at all.
 */
export function watchUnhandledRejections() {
  // jest gives each test file a copy of `process` whose listeners never hear the real process's
  // events; the real one is the global of the main context.
  const realProcess = runInThisContext('process') as NodeJS.Process;
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  beforeAll(() => {
    realProcess.on('unhandledRejection', listener);
  });
  afterAll(() => {
    realProcess.off('unhandledRejection', listener);
  });
  return {
    /** Lets pending rejections surface (they are reported after a macrotask), then fails on any. */
    async assertNone(): Promise<void> {
      await new Promise((resolve) => setImmediate(resolve));
      if (seen.length > 0) {
        const reasons = seen.splice(0).map((reason) => (reason instanceof Error ? reason.stack : String(reason)));
        throw new Error(`unhandled rejection(s):\n${reasons.join('\n---\n')}`);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What fakes answer

/** A client error a use case may throw: never a 5xx (an UpstreamFailed is the use case's own fault). */
export const clientError: fc.Arbitrary<SlipwayError> = fc
  .tuple(fc.constantFrom(NotFound, Conflict, InvalidInput, Unprocessable, Forbidden), fc.string({ maxLength: 40 }))
  .map(([Kind, message]) => new Kind(message || 'refused'));

/** Per request: the use case succeeds with plain data, or throws a typed 4xx. */
export const outcome: fc.Arbitrary<SlipwayError | undefined> = fc.option(clientError, { nil: undefined, freq: 2 });

/** An async use-case method: the given data, or the request's client error. */
export function answer<T>(failure: SlipwayError | undefined, value: T): Promise<T> {
  return failure ? Promise.reject(failure) : Promise.resolve(value);
}

/** A synchronous use-case method (a config lookup): the given data, or the request's client error, thrown. */
export function answerNow<T>(failure: SlipwayError | undefined, value: T): T {
  if (failure) throw failure;
  return value;
}

// ---------------------------------------------------------------------------------------------
// Credentials

/** One token per role, a token scoped to an app and an environment, and the token source that knows them. */
export function fuzzTokens() {
  const memory = memoryTokenSource();
  const scopedToken = mintToken();
  memory.entries.push({
    name: 'scoped',
    sha256: hashToken(scopedToken),
    roles: ['deployer', 'approver'],
    createdAt: '2026-11-22T03:00:00.000Z',
    apps: ['shop'],
    environments: ['staging'],
  });
  const valid = [...ROLES.map((role) => memory.tokens[role]), scopedToken];
  return { source: memory.source as TokenSource, admin: memory.tokens.admin, valid };
}

/** Authorization as sent: missing, valid, unknown, malformed, other schemes, JWT-shaped, huge. */
export function authorization(valid: readonly string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...valid).map((token) => `Bearer ${token}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.string().map((token) => `Bearer ${token}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('Basic', 'bearer', 'Bearer', 'BEARER', 'Token', ''), fc.constantFrom(...valid, 'x'))
        .map(([scheme, token]) => `${scheme}  ${token} `),
    },
    {
      weight: 1,
      // Three base64url segments: routed to the OIDC verifier when one is configured.
      arbitrary: fc
        .array(fc.base64String({ maxLength: 60 }), { minLength: 3, maxLength: 3 })
        .map((parts) => `Bearer ${parts.map((part) => part.replace(/=+$/, '')).join('.')}`),
    },
    { weight: 1, arbitrary: fc.constant(`Bearer ${'a'.repeat(20_000)}`) },
  );
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Unicode, slashes, dots, control characters, lengths from empty to very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '/',
      '..',
      '../../etc/passwd',
      'shop/../prod',
      '%2F',
      '\u0000',
      '\uD800',
      'dep-00000000-0000-4000-8000-000000000001',
      'bkp-00000000-0000-4000-8000-000000000001',
      'rst-00000000-0000-4000-8000-000000000001',
      'shop',
      'staging',
      'production',
      '__proto__',
      'constructor',
      'null',
      '1e309',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 70_000 }).map((length) => 'x'.repeat(length)) },
);

/** Keys every plain object has, or would get through a careless merge. */
const OBJECT_KEYS = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty');

/** A JSON value with the keys a route's schemas use, so validation is reached past the first field. */
export function jsonBody(keys: readonly string[]): fc.Arbitrary<unknown> {
  const known = fc.dictionary(
    fc.oneof({ weight: 4, arbitrary: keys.length > 0 ? fc.constantFrom(...keys) : fc.string() }, OBJECT_KEYS),
    fc.oneof(hostileString, fc.jsonValue({ maxDepth: 2 }), fc.integer(), fc.boolean(), fc.constant(null)),
    { maxKeys: 8 },
  );
  return fc.oneof({ weight: 3, arbitrary: known }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
}

export interface HostileBody {
  body: string | undefined;
  base64: boolean;
  /** The body's bytes as the function decodes them. */
  bytes: number;
}

/** JSON, not JSON, empty, base64 (valid and not), and bodies over the 256 KiB limit. */
export function hostileBody(keys: readonly string[]): fc.Arbitrary<HostileBody> {
  const plain = (body: string | undefined): HostileBody => ({
    body,
    base64: false,
    bytes: Buffer.byteLength(body ?? '', 'utf8'),
  });
  return fc.oneof(
    { weight: 4, arbitrary: jsonBody(keys).map((value) => plain(JSON.stringify(value))) },
    { weight: 1, arbitrary: fc.constant(plain(undefined)) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(plain) },
    {
      weight: 1,
      arbitrary: jsonBody(keys).map((value) => {
        const bytes = Buffer.from(JSON.stringify(value) ?? '', 'utf8');
        return { body: bytes.toString('base64'), base64: true, bytes: bytes.byteLength };
      }),
    },
    // Claimed base64 that is not: Node decodes what it can, never throws.
    {
      weight: 1,
      arbitrary: fc.string({ maxLength: 100 }).map((text) => ({
        body: text,
        base64: true,
        bytes: Buffer.from(text, 'base64').byteLength,
      })),
    },
    { weight: 1, arbitrary: oversizedBody() },
  );
}

/** A body over MAX_BODY_BYTES: JSON, text or base64, just over or far over. */
export function oversizedBody(): fc.Arbitrary<HostileBody> {
  return fc
    .tuple(fc.integer({ min: 1, max: 64 * 1024 }), fc.constantFrom('json', 'text', 'base64', 'multibyte'))
    .map(([extra, kind]) => {
      const size = MAX_BODY_BYTES + extra;
      if (kind === 'json') {
        const body = JSON.stringify({ reason: 'r'.repeat(size) });
        return { body, base64: false, bytes: Buffer.byteLength(body) };
      }
      if (kind === 'multibyte') {
        // 3 bytes per character: fewer characters than bytes.
        const body = '€'.repeat(Math.ceil(size / 3));
        return { body, base64: false, bytes: Buffer.byteLength(body) };
      }
      if (kind === 'base64') {
        const bytes = Buffer.alloc(size, 0x7b);
        return { body: bytes.toString('base64'), base64: true, bytes: size };
      }
      return { body: 'x'.repeat(size), base64: false, bytes: size };
    });
}

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/vnd.api+json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'APPLICATION/JSON',
      '',
      ';',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/** Extra headers: garbage names and values, and the ones routes read. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'idempotency-key',
      'x-slipway-signature',
      'x-hub-signature-256',
      'x-github-event',
      'x-forwarded-for',
      'user-agent',
    ),
    fc.string({ minLength: 1, maxLength: 20 }),
  ),
  hostileString,
  { maxKeys: 4 },
);

// ---------------------------------------------------------------------------------------------
// Cursors

/** A value of the wrong type for a key attribute, which is always a string on the state table. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }),
  fc.constantFrom({ S: 'x' }, { N: '1' }, { NULL: true }, { B: 'eA==' }, {}),
);

/** Strings shaped like other listings' keys, other partitions, impossible days and times out of range. */
const FOREIGN_KEY_STRINGS = [
  '',
  'DEPLOYMENT',
  'DEPLOYMENT#dep-00000000-0000-4000-8000-000000000009',
  'DEPLOYMENT#x',
  'BACKUP',
  'BACKUP#bkp-00000000-0000-4000-8000-000000000009',
  'RESTORE',
  'RESTORE#rst-00000000-0000-4000-8000-000000000009',
  'ENV#shop#staging',
  'ENV#billing#production',
  'ENV#shop#production#x',
  'BACKUPS#billing-db',
  'RESTORES#shop-db',
  'BACKUPS#volume:shop-uploads',
  'AUDIT#2026-00-00',
  'AUDIT#2026-13-45',
  'AUDIT#1970-01-01',
  'AUDIT#9999-12-31',
  'LOCK#shop#production',
  '2026-00-00T00:00:00.000Z#00000000-0000-4000-8000-000000000009',
  '2027-01-01T00:00:00.000Z#dep-00000000-0000-4000-8000-000000000009',
  '2026-11-22T03:00:00Z#bkp-00000000-0000-4000-8000-000000000009',
  '9999-12-31T23:59:59.999Z#00000000-0000-4000-8000-000000000009',
  '1970-01-01T00:00:00.000Z#00000000-0000-4000-8000-000000000009',
];

type CursorKey = Record<string, unknown>;

/** One change that makes a listing's key one it never wrote: a wrong type, a foreign value, a field gone or added. */
type Change = (key: CursorKey) => CursorKey;

function mutation(key: CursorKey): fc.Arbitrary<Change> {
  const fields = Object.keys(key);
  const field = fc.constantFrom(...fields);
  return fc.oneof(
    fc.tuple(field, wrongType).map(
      ([name, value]): Change =>
        (current) => ({ ...current, [name]: value }),
    ),
    fc
      .tuple(field, fc.oneof(fc.constantFrom(...FOREIGN_KEY_STRINGS), hostileString))
      .filter(([name, value]) => value !== key[name])
      .map(
        ([name, value]): Change =>
          (current) => ({ ...current, [name]: value }),
      ),
    field.map(
      (name): Change =>
        (current) =>
          Object.fromEntries(Object.entries(current).filter(([other]) => other !== name)),
    ),
    fc
      .tuple(fc.constantFrom('type', 'expiresAt', 'environmentKey', 'sk', 'x'), fc.jsonValue({ maxDepth: 1 }))
      .filter(([name]) => !fields.includes(name))
      .map(
        ([name, value]): Change =>
          (current) => ({ ...current, [name]: value }),
      ),
  );
}

/** How a forged key is sent: as the listing encodes cursors, or nearly. */
const cursorEncoding = fc.constantFrom<(json: string) => string>(
  (json) => Buffer.from(json, 'utf8').toString('base64url'),
  (json) => Buffer.from(json, 'utf8').toString('base64url'),
  (json) => Buffer.from(json, 'utf8').toString('base64'),
  (json) => json,
);

/**
 * Cursors an attacker forges from the ones a listing hands out: right base64url and JSON, but wrong
 * value types, foreign prefixes, other listings' keys, missing or extra attributes, or not JSON at all.
 * Never one the listing wrote: `own` is its keys, `others` other listings' keys.
 */
export function forgedCursor(own: readonly CursorKey[], others: readonly CursorKey[]): fc.Arbitrary<string> {
  const mutated = fc
    .constantFrom(...own)
    .chain((key) => fc.array(mutation(key), { minLength: 1, maxLength: 3 }).map((changes) => [key, changes] as const))
    .map(([key, changes]) => changes.reduce((current, change) => change(current), key));
  const json = fc.oneof(
    { weight: 6, arbitrary: mutated.map((key) => JSON.stringify(key)) },
    { weight: 2, arbitrary: fc.constantFrom(...others).map((key) => JSON.stringify(key)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  );
  return fc
    .tuple(json, cursorEncoding)
    .map(([text, encode]) => encode(text))
    .filter((cursor) => !own.some((key) => cursor === Buffer.from(JSON.stringify(key)).toString('base64url')));
}

export interface HostileRequest {
  pathParameters: Record<string, string> | undefined;
  query: Record<string, string> | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  headers: Record<string, string>;
  body: HostileBody;
  /** requestContext.http.sourceIp; the sample's when left out, none when empty. */
  sourceIp?: string;
}

/** Where requests come from: two IPv4 addresses, two IPv6 ones in one /64 and one in another, and none. */
export const sourceIp = fc.constantFrom(
  '203.0.113.10',
  '198.51.100.7',
  '2001:db8:1:2::1',
  '2001:db8:1:2:ffff::9',
  '2001:db8:9::1',
  '',
);

/** Everything a request to one route can carry, most of it wrong. */
export function hostileRequest(
  route: { path?: readonly string[]; query?: readonly string[]; body?: readonly string[] },
  valid: readonly string[],
  body: fc.Arbitrary<HostileBody> = hostileBody(route.body ?? []),
): fc.Arbitrary<HostileRequest> {
  const params = (names: readonly string[] | undefined) =>
    fc.option(
      fc.dictionary(
        fc.oneof(fc.constantFrom(...(names?.length ? names : ['id'])), fc.string(), OBJECT_KEYS),
        hostileString,
        {
          maxKeys: 4,
        },
      ),
      { nil: undefined, freq: 5 },
    );
  return fc.record({
    pathParameters: params(route.path),
    query: params(route.query),
    authorization: authorization(valid),
    contentType,
    headers: extraHeaders,
    body,
    sourceIp,
  });
}

/** As API Gateway puts a segment in rawPath; a lone surrogate cannot be encoded and comes through replaced. */
function encodePathSegment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}

/** The API Gateway (payload 2.0) event for a request to `method pathTemplate`. */
export function eventFor(method: string, pathTemplate: string, request: HostileRequest): APIGatewayProxyEventV2 {
  const headers: Record<string, string | undefined> = { ...request.headers };
  headers.authorization = request.authorization;
  headers['content-type'] = request.contentType;
  const event = httpEvent('not-found', {
    method,
    path: pathTemplate.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodePathSegment(request.pathParameters?.[name] ?? name),
    ),
    routeKey: `${method} ${pathTemplate}`,
    headers,
    token: null,
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    ...(request.query ? { query: request.query } : {}),
  });
  // Set as API Gateway hands it over: the raw string, flagged when it is base64.
  if (request.body.body !== undefined) event.body = request.body.body;
  else delete event.body;
  event.isBase64Encoded = request.body.base64;
  if (request.sourceIp !== undefined) {
    const http: Partial<typeof event.requestContext.http> = event.requestContext.http;
    if (request.sourceIp === '') delete http.sourceIp;
    else event.requestContext.http.sourceIp = request.sourceIp;
  }
  return event;
}

// ---------------------------------------------------------------------------------------------
// What every answer must be

export const errorShape = z.strictObject({
  error: z.strictObject({ code: z.string().min(1), message: z.string(), details: z.unknown().optional() }),
});

/** A failure message for a response that breaks the HTTP contract, or undefined when it holds. */
export function contractBreach(response: APIGatewayProxyStructuredResultV2 | undefined): string | undefined {
  if (!response || typeof response !== 'object') return `the handler answered ${String(response)}`;
  const status = response.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100) return `status ${String(status)}`;
  if (status >= 500) return `a ${status}: ${response.body}`;
  let body: unknown;
  try {
    body = JSON.parse(response.body ?? '');
  } catch {
    return `a ${status} whose body is not JSON: ${String(response.body).slice(0, 200)}`;
  }
  if (status >= 400 && !errorShape.safeParse(body).success) {
    return `a ${status} whose body is not {error: {code, message, details?}}: ${JSON.stringify(body).slice(0, 300)}`;
  }
  return undefined;
}
