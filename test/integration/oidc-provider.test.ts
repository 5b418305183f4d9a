import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import {
  type HttpAnswer,
  httpsCall,
  type OidcProviderStandIn,
  pkcePair,
  startOidcProvider,
} from '../support/oidc-provider';

/**
 * The OpenID Connect provider stand-in the console's browser test signs in with, on its own: the
 * authorization code flow with PKCE over real HTTPS (its own certificate), the refusals RFC 6749 and
 * RFC 7636 ask for, and ID tokens that verify against its JWKS.
 */

const APP_ORIGIN = 'http://127.0.0.1:43210';
const REDIRECT_URI = `${APP_ORIGIN}/console/callback`;
const SIGNED_OUT = `${APP_ORIGIN}/console/`;
const CLIENT_ID = 'slipway-console';

let dir: string;
let provider: OidcProviderStandIn;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-oidc-provider-'));
  provider = await startOidcProvider({
    dir,
    users: {
      alice: { sub: 'alice', email: 'alice@example.com', name: 'Alice', groups: ['deployers'] },
      bob: { sub: 'bob', email: 'bob@example.com', name: 'Bob', groups: ['approvers'] },
    },
    client: { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [SIGNED_OUT] },
  });
});

afterAll(async () => {
  await provider?.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = (path: string, init: Parameters<typeof httpsCall>[1] = {}) =>
  httpsCall(`${provider.issuer}${path}`, { ...init, ca: provider.certificate });

const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: String(new URLSearchParams(fields)),
  });

function authorizationRequest(overrides: Record<string, string | undefined> = {}) {
  const { verifier, challenge } = pkcePair();
  const fields: Record<string, string | undefined> = {
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile email',
    state: `state-${Math.random()}`,
    nonce: `nonce-${Math.random()}`,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const parameters = Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return { parameters, verifier };
}

/** The query of the redirect an answer sends the browser to. */
function redirectedTo(answer: HttpAnswer): URL {
  expect(answer.status).toBe(302);
  return new URL(answer.headers.location as string);
}

/** The sign-in page's button for `user` pressed: the code the client is sent back with. */
async function signIn(user: string, overrides: Record<string, string | undefined> = {}) {
  const request = authorizationRequest(overrides);
  const back = redirectedTo(await form('/authorize', { ...request.parameters, user }));
  return { ...request, code: back.searchParams.get('code') as string, back };
}

const redeem = (fields: Record<string, string>) =>
  form(
    '/token',
    { grant_type: 'authorization_code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, ...fields },
    {
      origin: APP_ORIGIN,
    },
  );

describe('the OpenID Connect provider stand-in', () => {
  it('publishes its discovery document and keys, readable cross-origin by the registered app only', async () => {
    // When the app's origin and another read the discovery document
    const document = await call('/.well-known/openid-configuration', { headers: { origin: APP_ORIGIN } });
    const stranger = await call('/.well-known/openid-configuration', { headers: { origin: 'https://evil.example' } });

    // Then it names the issuer and its endpoints, PKCE S256 and RS256
    expect(JSON.parse(document.body)).toMatchObject({
      issuer: provider.issuer,
      authorization_endpoint: `${provider.issuer}/authorize`,
      token_endpoint: `${provider.issuer}/token`,
      jwks_uri: `${provider.issuer}/jwks`,
      end_session_endpoint: `${provider.issuer}/logout`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    // And only the registered origin may read it from a browser
    expect(document.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();

    // When a browser asks before calling the token endpoint with a header of its own
    const preflight = await call('/token', {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' },
    });

    // Then it may
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-allow-methods': 'POST',
    });
  });

  it('shows a sign-in page with a button per user, the request carried in hidden fields', async () => {
    // When the browser is sent to the authorization endpoint
    const { parameters } = authorizationRequest({ state: 'a"<b' });
    const shown = await call(`/authorize?${new URLSearchParams(parameters)}`);

    // Then the page offers each user, and keeps the request (escaped) for the button's POST
    expect(shown.status).toBe(200);
    expect(shown.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(shown.body).toContain('<form method="post" action="/authorize">');
    expect(shown.body).toContain('<button type="submit" name="user" value="alice">Sign in as alice</button>');
    expect(shown.body).toContain('<button type="submit" name="user" value="bob">Sign in as bob</button>');
    expect(shown.body).toContain('<input type="hidden" name="state" value="a&quot;&lt;b">');
    expect(shown.body).toContain(`<input type="hidden" name="code_challenge" value="${parameters.code_challenge}">`);
  });

  it('gives a code for the state, and tokens for the code and its verifier, whose ID token verifies against the JWKS', async () => {
    // Given bob signed in on the provider's page
    const { code, back, verifier, parameters } = await signIn('bob');
    expect(back.origin + back.pathname).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe(parameters.state);

    // When the app exchanges the code with its verifier, cross-origin
    const answer = await redeem({ code, code_verifier: verifier });

    // Then it gets bearer tokens, readable from its origin and never cached
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({ 'access-control-allow-origin': APP_ORIGIN, 'cache-control': 'no-store' });
    const tokens = JSON.parse(answer.body);
    expect(tokens).toEqual({
      access_token: expect.any(String),
      id_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
    });

    // And the ID token is RS256 with the key id the JWKS lists, for the client, naming bob with his claims
    const jwks = JSON.parse((await call('/jwks')).body) as JSONWebKeySet;
    expect(decodeProtectedHeader(tokens.id_token)).toEqual({ alg: 'RS256', kid: jwks.keys[0]?.kid, typ: 'JWT' });
    const { payload } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), {
      issuer: provider.issuer,
      audience: CLIENT_ID,
      algorithms: ['RS256'],
    });
    expect(payload).toMatchObject({
      sub: 'bob',
      nonce: parameters.nonce,
      email: 'bob@example.com',
      name: 'Bob',
      groups: ['approvers'],
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);

    // And the record says so
    expect(provider.record.codesRedeemed).toContainEqual({ code, user: 'bob' });
    expect(provider.record.tokensIssued).toContainEqual({
      user: 'bob',
      idToken: tokens.id_token,
      accessToken: tokens.access_token,
    });
  });

  it('gives a test the whole flow over HTTP in one call', async () => {
    // When a test signs alice in as the app would
    const tokens = await provider.signInOverHttp('alice');

    // Then the ID token names her
    const jwks = JSON.parse((await call('/jwks')).body) as JSONWebKeySet;
    const { payload } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), {
      issuer: provider.issuer,
      audience: CLIENT_ID,
    });
    expect(payload).toMatchObject({ sub: 'alice', groups: ['deployers'] });
  });

  it('refuses a verifier that does not match the challenge, and the code is spent', async () => {
    // Given a code, and a verifier of another request
    const { code, verifier } = await signIn('alice');
    const other = pkcePair().verifier;

    // When the code is exchanged with the wrong verifier
    const wrong = await redeem({ code, code_verifier: other });

    // Then it is refused as RFC 7636 4.6 says
    expect(wrong.status).toBe(400);
    expect(JSON.parse(wrong.body)).toEqual({
      error: 'invalid_grant',
      error_description: 'code_verifier does not match the code_challenge',
    });

    // And the right verifier comes too late: the code was used
    const late = await redeem({ code, code_verifier: verifier });
    expect(JSON.parse(late.body)).toMatchObject({
      error: 'invalid_grant',
      error_description: 'the code was used already',
    });
  });

  it('refuses a code used twice', async () => {
    // Given a code exchanged once
    const { code, verifier } = await signIn('alice');
    expect((await redeem({ code, code_verifier: verifier })).status).toBe(200);

    // When it is exchanged again
    const again = await redeem({ code, code_verifier: verifier });

    // Then it is refused
    expect(again.status).toBe(400);
    expect(JSON.parse(again.body)).toEqual({ error: 'invalid_grant', error_description: 'the code was used already' });
  });

  it('refuses a code exchanged with another redirect_uri than it was issued for', async () => {
    // Given a code issued for the registered redirect URI
    const { code, verifier } = await signIn('alice');

    // When it is exchanged naming another
    const answer = await redeem({ code, code_verifier: verifier, redirect_uri: `${APP_ORIGIN}/elsewhere` });

    // Then it is refused
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses an unknown client at the token endpoint with 401, and another grant type with 400', async () => {
    // Given a good code
    const { code, verifier } = await signIn('alice');

    // When another client or a grant type other than the code is asked for
    const stranger = await redeem({ code, code_verifier: verifier, client_id: 'someone-else' });
    const password = await redeem({ grant_type: 'password', code, code_verifier: verifier });

    // Then both are refused as RFC 6749 5.2 says
    expect(stranger.status).toBe(401);
    expect(JSON.parse(stranger.body)).toMatchObject({ error: 'invalid_client' });
    expect(password.status).toBe(400);
    expect(JSON.parse(password.body)).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('never sends the browser to a redirect URI that is not registered', async () => {
    // When the authorization request names an unregistered redirect URI, or an unknown client
    const { parameters } = authorizationRequest({ redirect_uri: 'https://evil.example/callback' });
    const unregistered = await call(`/authorize?${new URLSearchParams(parameters)}`);
    const unknownClient = await call(
      `/authorize?${new URLSearchParams(authorizationRequest({ client_id: 'someone-else' }).parameters)}`,
    );

    // Then the user is told, on a 400 page, and sent nowhere (RFC 6749 4.1.2.1)
    for (const answer of [unregistered, unknownClient]) {
      expect(answer.status).toBe(400);
      expect(answer.headers.location).toBeUndefined();
      expect(answer.body).toContain('redirect_uri not registered');
    }
  });

  it.each([
    ['no code_challenge', { code_challenge: undefined }, 'invalid_request'],
    ['the plain PKCE method', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['no nonce', { nonce: undefined }, 'invalid_request'],
    ['a scope without openid', { scope: 'profile email' }, 'invalid_scope'],
    ['the implicit flow', { response_type: 'id_token' }, 'unsupported_response_type'],
    ['prompt=none, with no session kept', { prompt: 'none' }, 'login_required'],
  ])(
    'sends an authorization request with %s back to the app with the error and the state',
    async (_, overrides, error) => {
      // When the request reaches the authorization endpoint
      const { parameters } = authorizationRequest(overrides);
      const back = redirectedTo(await call(`/authorize?${new URLSearchParams(parameters)}`));

      // Then the browser goes back to the redirect URI with the error, its description and the state
      expect(back.origin + back.pathname).toBe(REDIRECT_URI);
      expect(back.searchParams.get('error')).toBe(error);
      expect(back.searchParams.get('error_description')).toEqual(expect.any(String));
      expect(back.searchParams.get('state')).toBe(parameters.state);
      expect(back.searchParams.has('code')).toBe(false);
    },
  );

  it('refuses an expired code', async () => {
    // Given a provider whose codes last no time at all
    const strict = await startOidcProvider({
      dir: mkdtempSync(join(dir, 'strict-')),
      users: { alice: { sub: 'alice' } },
      client: { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] },
      codeSeconds: 0,
    });
    try {
      const { parameters, verifier } = authorizationRequest();
      const back = redirectedTo(
        await httpsCall(`${strict.issuer}/authorize`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: String(new URLSearchParams({ ...parameters, user: 'alice' })),
          ca: strict.certificate,
        }),
      );
      await new Promise((done) => setTimeout(done, 5));

      // When its code is exchanged
      const answer = await httpsCall(`${strict.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: String(
          new URLSearchParams({
            grant_type: 'authorization_code',
            client_id: CLIENT_ID,
            redirect_uri: REDIRECT_URI,
            code: back.searchParams.get('code') as string,
            code_verifier: verifier,
          }),
        ),
        ca: strict.certificate,
      });

      // Then it is refused
      expect(JSON.parse(answer.body)).toEqual({ error: 'invalid_grant', error_description: 'the code has expired' });
    } finally {
      await strict.close();
    }
  });

  it('ends a session back to a registered post-logout URI only', async () => {
    // When the app signs out naming its registered URI, then another
    const registered = await call(
      `/logout?${new URLSearchParams({ post_logout_redirect_uri: SIGNED_OUT, state: 's1' })}`,
    );
    const other = await call(`/logout?${new URLSearchParams({ post_logout_redirect_uri: 'https://evil.example/' })}`);

    // Then the first goes back with its state, the second nowhere
    expect(redirectedTo(registered).toString()).toBe(`${SIGNED_OUT}?state=s1`);
    expect(other.status).toBe(400);
    expect(other.headers.location).toBeUndefined();
    expect(provider.record.logouts).toEqual([{ redirectTo: `${SIGNED_OUT}?state=s1` }]);
  });
});
