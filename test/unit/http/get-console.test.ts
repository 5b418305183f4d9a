import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type GetConsoleDeps, makeHandler } from '../../../functions/http/get-console';
import { readConsoleSettings } from '../../../lib/auth/console-sign-in';
import { UpstreamFailed } from '../../../lib/errors';
import { readConsoleFiles } from '../../../lib/http/console-files';
import { httpEvent, lambdaContext } from '../../support/http';

/**
 * The console's function through its real middy chain: the page for every path of the app, its assets by their
 * content-hashed names, the sign-in settings from the issuer's discovery document, and the headers that keep the
 * page to its own scripts and out of frames.
 */

const ISSUER = 'https://login.example.com';
const TOKEN_ENDPOINT = 'https://tokens.example.net/oauth2/token';
const DISCOVERY = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/oauth2/authorize`,
  token_endpoint: TOKEN_ENDPOINT,
  end_session_endpoint: `${ISSUER}/logout`,
  jwks_uri: `${ISSUER}/keys`,
};
const INDEX =
  '<!doctype html><html><head><script type="module" src="/console/assets/app-1a2b3c4d.js"></script></head></html>';
const SCRIPT = 'console.log("the app");'.repeat(50);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-console-files-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-1a2b3c4d.js'), SCRIPT);
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      index: 'index.html',
      assets: { 'app-1a2b3c4d.js': { contentType: 'text/javascript; charset=utf-8' } },
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A discovery document server: what it answers, and how often it was asked. */
function issuerAnswering(...answers: Array<() => Response>) {
  const asked: string[] = [];
  const fetch = (async (url: string | URL) => {
    asked.push(String(url));
    const next = answers.length > 1 ? answers.shift() : answers[0];
    return (next as () => Response)();
  }) as typeof globalThis.fetch;
  return { fetch, asked };
}
const document =
  (body: unknown, status = 200) =>
  () =>
    Response.json(body, { status });

function consoleHandler(overrides: Partial<GetConsoleDeps> = {}) {
  return makeHandler({
    issuer: { issuer: ISSUER, audience: 'slipway-console' },
    stage: 'prod',
    sandbox: false,
    files: () => readConsoleFiles(dir),
    fetch: issuerAnswering(document(DISCOVERY)).fetch,
    ...overrides,
  });
}

async function get(
  handler: ReturnType<typeof makeHandler>,
  proxy: string | undefined,
  headers: Record<string, string> = {},
) {
  const event = httpEvent('get-console', {
    path: proxy === undefined ? '/console' : `/console/${proxy}`,
    routeKey: proxy === undefined ? 'GET /console' : 'GET /console/{proxy+}',
    headers: { 'accept-encoding': undefined, ...headers },
  });
  if (proxy === undefined) delete event.pathParameters;
  else event.pathParameters = { proxy };
  const response = await handler(event, lambdaContext());
  const body = Buffer.from(response.body ?? '', response.isBase64Encoded ? 'base64' : 'utf8');
  return { status: response.statusCode, headers: response.headers ?? {}, body };
}

describe('GET /console/…', () => {
  it.each([
    ['/console', undefined, 'GET /console'],
    ['/console/', undefined, 'GET /console'],
  ])(
    'answers the page for %s however the router hands it over (proxy %j, %s), with no redirect to loop on',
    async (path, proxy, routeKey) => {
      const event = httpEvent('get-console', { path, routeKey, headers: { 'accept-encoding': undefined } });
      if (proxy === undefined) delete event.pathParameters;
      else event.pathParameters = { proxy };
      const response = await consoleHandler()(event, lambdaContext());
      expect(response.statusCode).toBe(200);
      expect(response.headers?.location).toBeUndefined();
      expect(Buffer.from(response.body ?? '', 'base64').toString('utf8')).toBe(INDEX);
    },
  );

  it("answers the app's page for each of its own paths, read again on every visit", async () => {
    for (const proxy of ['', 'deployments/dep-3f2a9c1e', 'apps/shop/environments/production', 'callback']) {
      const { status, headers, body } = await get(consoleHandler(), proxy || 'index.html');
      expect(status).toBe(200);
      expect(headers['content-type']).toBe('text/html; charset=utf-8');
      expect(headers['cache-control']).toBe('no-cache');
      expect(body.toString('utf8')).toBe(INDEX);
    }
  });

  it('keeps the page to its own scripts and styles, the API and the token endpoint, out of any frame', async () => {
    const { headers } = await get(consoleHandler(), 'deployments/dep-3f2a9c1e');
    expect(headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
        `connect-src 'self' ${ISSUER} https://tokens.example.net; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves an asset by its content-hashed name for a year, gzipped for a browser that accepts it', async () => {
    const plain = await get(consoleHandler(), 'assets/app-1a2b3c4d.js');
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toBe(SCRIPT);

    const zipped = await get(consoleHandler(), 'assets/app-1a2b3c4d.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('accept-encoding');
    expect(zipped.body.length).toBeLessThan(SCRIPT.length / 4);
    expect(gunzipSync(zipped.body).toString('utf8')).toBe(SCRIPT);

    // gzip refused with q=0 (RFC 9110, 12.5.3) is sent plain
    const refused = await get(consoleHandler(), 'assets/app-1a2b3c4d.js', { 'accept-encoding': 'br, gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('answers 404 for an asset it does not have, rather than the page', async () => {
    const { status, body } = await get(consoleHandler(), 'assets/app-00000000.js');
    expect(status).toBe(404);
    expect(JSON.parse(body.toString('utf8'))).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('refuses a path with a dot segment with a 400 naming path.proxy', async () => {
    const { status, body } = await get(consoleHandler(), 'assets/../manifest.json');
    expect(status).toBe(400);
    expect(JSON.parse(body.toString('utf8')).error.message).toBe(
      'path.proxy: expected a path without . or .. segments',
    );
  });
});

describe('GET /console/config.json', () => {
  it("gives the page the issuer's endpoints, read from its discovery document once per container", async () => {
    const issuer = issuerAnswering(document(DISCOVERY));
    const handler = consoleHandler({ fetch: issuer.fetch, sandbox: true, stage: 'sandbox' });
    const first = await get(handler, 'config.json');
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(first.body.toString('utf8'))).toEqual({
      issuer: ISSUER,
      clientId: 'slipway-console',
      authorizationEndpoint: `${ISSUER}/oauth2/authorize`,
      tokenEndpoint: TOKEN_ENDPOINT,
      endSessionEndpoint: `${ISSUER}/logout`,
      scopes: ['openid', 'profile', 'email'],
      stage: 'sandbox',
      sandbox: true,
    });
    await get(handler, 'config.json');
    await get(handler, 'deployments/dep-3f2a9c1e');
    expect(issuer.asked).toEqual([`${ISSUER}/.well-known/openid-configuration`]);
  });

  it('answers 502 when discovery fails, and reads it again on the next request', async () => {
    const issuer = issuerAnswering(document({ message: 'down' }, 503), document(DISCOVERY));
    const handler = consoleHandler({ fetch: issuer.fetch });
    const failed = await get(handler, 'config.json');
    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.body.toString('utf8')).error.code).toBe('UPSTREAM_FAILED');
    expect((await get(handler, 'config.json')).status).toBe(200);
    expect(issuer.asked).toHaveLength(2);
  });

  it('still serves the page and its assets while the issuer cannot be read, allowed to reach its own origin only', async () => {
    // Given an identity provider whose discovery document does not answer
    const handler = consoleHandler({ fetch: issuerAnswering(document({ message: 'down' }, 503)).fetch });
    // Then the page and its script load (and say sign-in is unavailable), with no provider origin in the policy
    const page = await get(handler, 'deployments/dep-3f2a9c1e');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("connect-src 'self';");
    expect((await get(handler, 'assets/app-1a2b3c4d.js')).status).toBe(200);
    // And only the settings answer 502
    expect((await get(handler, 'config.json')).status).toBe(502);
  });

  it.each([
    [
      'a token endpoint that is not https',
      { ...DISCOVERY, token_endpoint: 'http://tokens.example.net/token' },
      'its token_endpoint is not https',
    ],
    [
      'no authorization endpoint',
      { ...DISCOVERY, authorization_endpoint: undefined },
      'its authorization_endpoint is not a URL',
    ],
    [
      'another issuer',
      { ...DISCOVERY, issuer: 'https://elsewhere.example.com' },
      'it names issuer "https://elsewhere.example.com"',
    ],
    ['a discovery document that is not JSON', 'not json', 'it is not JSON'],
  ])('refuses %s, naming why (a 502 at the route, whose message stays in the log)', async (_case, body, why) => {
    const answer = () => (typeof body === 'string' ? new Response(body) : Response.json(body));
    const read = readConsoleSettings(
      { issuer: ISSUER, audience: 'slipway-console' },
      { stage: 'prod', sandbox: false },
      { fetch: issuerAnswering(answer).fetch, timeoutMs: 1_000 },
    );
    await expect(read).rejects.toThrow(`cannot read the OIDC discovery document of issuer ${ISSUER}: ${why}`);
    await expect(read).rejects.toBeInstanceOf(UpstreamFailed);
    const route = await get(consoleHandler({ fetch: issuerAnswering(answer).fetch }), 'config.json');
    expect(route.status).toBe(502);
  });
  it('says how to turn sign-in on when no issuer is marked for the console, and the page may reach its own origin only', async () => {
    const handler = consoleHandler({ issuer: undefined });
    const { status, body } = await get(handler, 'config.json');
    expect(status).toBe(404);
    expect(JSON.parse(body.toString('utf8')).error.message).toMatch(/no auth\.oidc issuer is marked console: true/);
    const page = await get(handler, 'deployments/dep-3f2a9c1e');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("connect-src 'self';");
  });
});
