import {
  authorizationUrl,
  callbackCode,
  checkIdToken,
  decodeJwtPayload,
  endSessionUrl,
  type PendingSignIn,
  redirectUriOf,
  SignInError,
  tokenRequestBody,
} from '../../../console/src/auth/oidc';
import { base64url, codeChallenge, randomToken } from '../../../console/src/auth/pkce';
import { returnPathOf, savePending, takePending } from '../../../console/src/auth/session';

const config = {
  issuer: 'https://idp.example.com',
  clientId: 'slipway-console',
  authorizationEndpoint: 'https://idp.example.com/oauth2/authorize?tenant=acme',
  tokenEndpoint: 'https://idp.example.com/oauth2/token',
  endSessionEndpoint: 'https://idp.example.com/logout',
  scopes: ['openid', 'profile', 'email'],
};
const pending: PendingSignIn = {
  state: 'state-123',
  nonce: 'nonce-456',
  verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  returnTo: '/console/deployments/dep-1',
};
const NOW = Date.parse('2026-12-06T12:00:00Z');

/** An ID token as an identity provider would send it; the signature is the API's to check, never the console's. */
function idToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}.c2lnbmF0dXJl`;
}
const goodClaims = {
  iss: 'https://idp.example.com',
  sub: 'bob',
  aud: 'slipway-console',
  nonce: 'nonce-456',
  exp: NOW / 1000 + 3600,
  iat: NOW / 1000,
};
const expected = { issuer: config.issuer, clientId: config.clientId, nonce: pending.nonce, now: NOW };

describe('PKCE (RFC 7636)', () => {
  // RFC 7636, Appendix B: the 32 random octets, the verifier they encode to, and its S256 challenge.
  const OCTETS = [
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91,
    88, 5, 88, 83, 132, 141, 121,
  ];

  it('encodes Appendix B’s octets to its verifier', () => {
    expect(base64url(new Uint8Array(OCTETS))).toBe('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
  });

  it('derives the S256 challenge of Appendix B from its verifier', async () => {
    // given RFC 7636 Appendix B's verifier, when its challenge is made, then it is the one the RFC prints
    await expect(codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).resolves.toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('writes base64url without padding or the characters URLs reserve', () => {
    expect(base64url(new Uint8Array([0xfb, 0xff, 0xfe]))).toBe('-__-');
    expect(base64url(new Uint8Array([1]))).toBe('AQ');
  });

  it('makes verifiers of 43 unreserved characters that do not repeat', () => {
    const tokens = Array.from({ length: 50 }, () => randomToken());
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(50);
  });
});

describe('the authorization request', () => {
  it('asks for a code with the S256 challenge, the state, the nonce and the callback, keeping the endpoint’s own query', () => {
    // when the URL is made
    const url = new URL(
      authorizationUrl(config, {
        state: 'state-123',
        nonce: 'nonce-456',
        challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        redirectUri: redirectUriOf('https://slipway.example.com'),
      }),
    );
    // then it is the endpoint with every parameter of the code flow with PKCE
    expect(`${url.origin}${url.pathname}`).toBe('https://idp.example.com/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      tenant: 'acme',
      response_type: 'code',
      client_id: 'slipway-console',
      redirect_uri: 'https://slipway.example.com/console/callback',
      scope: 'openid profile email',
      state: 'state-123',
      nonce: 'nonce-456',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
  });

  it('exchanges the code with the verifier and no secret', () => {
    const body = tokenRequestBody(config, 'the-code', pending, 'https://slipway.example.com/console/callback');
    expect(Object.fromEntries(body)).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: 'https://slipway.example.com/console/callback',
      client_id: 'slipway-console',
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    });
  });
});

describe('the callback', () => {
  it('takes the code when the state is the one this tab sent', () => {
    expect(callbackCode('?code=abc&state=state-123', pending)).toBe('abc');
  });

  it.each([
    ['another state', '?code=abc&state=forged', pending, /state differs/],
    ['no state', '?code=abc', pending, /state differs/],
    ['no sign-in started in this tab', '?code=abc&state=state-123', undefined, /not started in this tab/],
    ['no code', '?state=state-123', pending, /without an authorization code/],
  ])('refuses an answer with %s', (_case, search, saved, message) => {
    expect(() => callbackCode(search, saved)).toThrow(SignInError);
    expect(() => callbackCode(search, saved)).toThrow(message);
  });

  it('shows the identity provider’s error and its description, even without a pending sign-in', () => {
    const search = '?error=access_denied&error_description=User+is+not+assigned+to+the+app&state=state-123';
    expect(() => callbackCode(search, undefined)).toThrow(
      'The identity provider refused the sign-in: access_denied (User is not assigned to the app).',
    );
  });
});

describe('the ID token', () => {
  it('is accepted with our issuer, our client as audience, our nonce, before it expires', () => {
    expect(checkIdToken(idToken(goodClaims), expected)).toMatchObject({ sub: 'bob', iss: config.issuer });
  });

  it('is accepted with several audiences when we are among them and the authorized party', () => {
    const claims = { ...goodClaims, aud: ['api', 'slipway-console'], azp: 'slipway-console' };
    expect(checkIdToken(idToken(claims), expected).sub).toBe('bob');
  });

  it.each([
    ['another nonce', { nonce: 'replayed' }, /nonce/],
    ['no nonce', { nonce: undefined }, /nonce/],
    ['another audience', { aud: 'other-client' }, /is for other-client, not for this console/],
    [
      'several audiences and another authorized party',
      { aud: ['api', 'slipway-console'], azp: 'api' },
      /issued to api/,
    ],
    ['another issuer', { iss: 'https://evil.example.com' }, /issued by https:\/\/evil.example.com/],
    ['the issuer with a trailing slash', { iss: 'https://idp.example.com/' }, /issued by/],
    ['an exp in the past', { exp: NOW / 1000 - 1 }, /expired/],
  ])('is refused with %s', (_case, change, message) => {
    expect(() => checkIdToken(idToken({ ...goodClaims, ...change }), expected)).toThrow(message);
  });

  it('is refused when it is not a JWT or its payload not JSON', () => {
    expect(() => decodeJwtPayload('opaque-access-token')).toThrow(/not a JWT/);
    expect(() => decodeJwtPayload('eyJ.bm90IGpzb24.sig')).toThrow(/not JSON/);
  });

  it('decodes payloads in UTF-8 base64url', () => {
    expect(decodeJwtPayload(idToken({ name: 'Zoë Ödegård', sub: 'x?>' }))).toEqual({ name: 'Zoë Ödegård', sub: 'x?>' });
  });
});

describe('what a sign-in keeps across the redirect', () => {
  const storage = () => {
    const items = new Map<string, string>();
    return {
      items,
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value),
      removeItem: (key: string) => void items.delete(key),
    };
  };

  it('is read once: taking it removes it', () => {
    const store = storage();
    savePending(store, pending);
    expect(takePending(store)).toEqual(pending);
    expect(store.items.size).toBe(0);
    expect(takePending(store)).toBeUndefined();
  });

  it('holds no token, only state, nonce, verifier and the path', () => {
    const store = storage();
    savePending(store, pending);
    expect(Object.keys(JSON.parse([...store.items.values()][0] as string)).sort()).toEqual([
      'nonce',
      'returnTo',
      'state',
      'verifier',
    ]);
  });

  it('returns only to the console’s own paths', () => {
    expect(returnPathOf('/console/deployments/dep-1?x=1')).toBe('/console/deployments/dep-1?x=1');
    expect(returnPathOf('//evil.example.com/console/')).toBe('/console/');
    expect(returnPathOf('/console//evil.example.com')).toBe('/console/');
    expect(returnPathOf('/v1/apps')).toBe('/console/');
    expect(returnPathOf('/console/callback?code=x')).toBe('/console/');
    expect(returnPathOf(undefined)).toBe('/console/');
  });
});

describe('signing out', () => {
  it('goes to the end-session endpoint with the client and the way back, and never the ID token in the URL', () => {
    const url = new URL(endSessionUrl(config, 'https://slipway.example.com') as string);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'slipway-console',
      post_logout_redirect_uri: 'https://slipway.example.com/console/',
    });
  });

  it('stays in the console when the identity provider offers no end session', () => {
    expect(endSessionUrl({ clientId: 'slipway-console' }, 'https://slipway.example.com')).toBeUndefined();
  });
});
