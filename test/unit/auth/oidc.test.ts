import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { discoveryUrl, looksLikeJwt, oidcVerifier } from '../../../lib/auth/oidc';
import type { OidcIssuer } from '../../../lib/auth/oidc-rules';
import { withOidc } from '../../../lib/auth/token-source';
import { mintToken } from '../../../lib/auth/tokens';
import { compileOidcRule } from '../../../lib/config/glob-compile';
import { Forbidden, type SlipwayError, Unauthenticated, UpstreamFailed } from '../../../lib/errors';
import { apiRoutes } from '../../../lib/http/registry';
import { httpRoute } from '../../../lib/http/route-chain';
import { httpEvent, lambdaContext } from '../../support/http';

/**
 * The verifier against an issuer served from memory: its fetch port answers the discovery document
 * and the JWKS, and counts what was asked. The integration test does the same over real HTTPS.
 */

const ISSUER = 'https://issuer.example.com';
const JWKS_URI = 'https://keys.example.com/jwks';
const NOW = new Date('2026-11-23T10:00:00.000Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);

const config: OidcIssuer = {
  issuer: ISSUER,
  audience: 'slipway',
  maxTokenAgeSeconds: 3_600,
  rules: [
    compileOidcRule({
      claims: { repository: 'org/shop', ref: 'refs/heads/main' },
      roles: ['deployer'],
      apps: ['shop'],
      excludeEnvironments: ['production'],
    }),
    compileOidcRule({ claims: { repository: 'org/*' }, roles: ['viewer'] }),
  ],
};

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: KeyPair;
let ec: KeyPair;
let stranger: KeyPair;

interface FakeIssuer {
  discovery: () => Response;
  jwks: () => Response;
  asked: string[];
}
let server: FakeIssuer;

const fetchFake = (async (input: string | URL | Request) => {
  const url = String(input);
  server.asked.push(url);
  if (url === discoveryUrl(ISSUER)) return server.discovery();
  if (url === JWKS_URI) return server.jwks();
  return new Response('not found', { status: 404 });
}) as typeof fetch;

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  stranger = await generateKeyPair('RS256', { extractable: true });
});

beforeEach(async () => {
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  server = {
    discovery: () => json({ issuer: ISSUER, jwks_uri: JWKS_URI }),
    jwks: () => json({ keys }),
    asked: [],
  };
});

const verifier = () => oidcVerifier([config], { fetch: fetchFake, now: () => NOW });

const claims = (overrides: JWTPayload = {}): JWTPayload => ({
  iss: ISSUER,
  aud: 'slipway',
  sub: 'repo:org/shop:ref:refs/heads/main',
  repository: 'org/shop',
  ref: 'refs/heads/main',
  workflow: 'deploy',
  iat: nowSeconds - 60,
  exp: nowSeconds + 300,
  ...overrides,
});

async function sign(payload: JWTPayload = claims(), options: { key?: KeyPair; alg?: string; kid?: string } = {}) {
  const alg = options.alg ?? 'RS256';
  return new SignJWT(payload)
    .setProtectedHeader({ alg, kid: options.kid ?? (alg === 'ES256' ? 'ec-1' : 'rsa-1'), typ: 'JWT' })
    .sign((options.key ?? (alg === 'ES256' ? ec : rsa)).privateKey);
}

async function failure(promise: Promise<unknown>): Promise<SlipwayError> {
  try {
    await promise;
  } catch (error) {
    return error as SlipwayError;
  }
  throw new Error('expected the token to be refused');
}

describe('looksLikeJwt', () => {
  it('tells a JWT from a token Slipway minted', async () => {
    expect(looksLikeJwt(await sign())).toBe(true);
    expect(looksLikeJwt(mintToken())).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt('a..c')).toBe(false);
  });
});

describe('discoveryUrl', () => {
  it('is under the issuer, with or without its trailing slash', () => {
    expect(discoveryUrl('https://a.example.com')).toBe('https://a.example.com/.well-known/openid-configuration');
    expect(discoveryUrl('https://a.example.com/tenant/')).toBe(
      'https://a.example.com/tenant/.well-known/openid-configuration',
    );
  });
});

describe('oidcVerifier', () => {
  it('turns a valid token into a principal named after its issuer host and subject, scoped by the first rule', async () => {
    expect(await verifier()(await sign())).toEqual({
      name: 'oidc:issuer.example.com:repo:org/shop:ref:refs/heads/main',
      roles: ['deployer'],
      scope: { apps: ['shop'], excludeEnvironments: ['production'] },
      issuer: ISSUER,
      // An issuer without personClaim names the person by sub.
      person: 'oidc:issuer.example.com:sub=repo:org/shop:ref:refs/heads/main',
    });
  });

  it('names the person by the issuer entry personClaim, the same from any branch', async () => {
    const verify = oidcVerifier([{ ...config, personClaim: 'user_id' }], { fetch: fetchFake, now: () => NOW });
    const main = await verify(await sign(claims({ user_id: '42' })));
    const feature = await verify(
      await sign(claims({ user_id: '42', sub: 'repo:org/shop:ref:refs/heads/x', ref: 'refs/heads/x' })),
    );
    expect([main.person, feature.person]).toEqual([
      'oidc:issuer.example.com:user_id=42',
      'oidc:issuer.example.com:user_id=42',
    ]);
    expect(main.name).not.toBe(feature.name);
  });

  it('accepts ES256 as well as RS256', async () => {
    expect((await verifier()(await sign(claims(), { alg: 'ES256' }))).roles).toEqual(['deployer']);
  });

  it('uses the first matching rule: another repository of the org is a viewer', async () => {
    const principal = await verifier()(await sign(claims({ repository: 'org/docs', sub: 'repo:org/docs' })));
    expect(principal).toEqual({
      name: 'oidc:issuer.example.com:repo:org/docs',
      roles: ['viewer'],
      issuer: ISSUER,
      person: 'oidc:issuer.example.com:sub=repo:org/docs',
    });
  });

  it('reads the discovery document and the keys once for many tokens', async () => {
    const verify = verifier();
    for (let i = 0; i < 3; i += 1) await verify(await sign(claims({ jti: String(i) })));
    expect(server.asked).toEqual([discoveryUrl(ISSUER), JWKS_URI]);
  });

  it('is 403 naming the quotable claims when no rule matches', async () => {
    const token = await sign(
      claims({
        repository: 'other/tool',
        sub: 'repo:other/tool:ref:refs/heads/x',
        ref: 'refs/heads/x',
        email: 'a@b.c',
      }),
    );
    const error = await failure(verifier()(token));
    expect(error).toBeInstanceOf(Forbidden);
    expect(error.message).toBe(
      `no rule of issuer ${ISSUER} matches this token's claims (repository=other/tool, ref=refs/heads/x, workflow=deploy, sub=repo:other/tool:ref:refs/heads/x)`,
    );
    expect(error.details).toEqual({
      issuer: ISSUER,
      claims: {
        repository: 'other/tool',
        ref: 'refs/heads/x',
        workflow: 'deploy',
        sub: 'repo:other/tool:ref:refs/heads/x',
      },
    });
  });

  describe('refuses with 401, never quoting the token', () => {
    const cases: Array<[string, () => Promise<string>, RegExp]> = [
      ['an expired token', () => sign(claims({ iat: nowSeconds - 600, exp: nowSeconds - 61 })), /has expired/],
      [
        'a token older than maxTokenAgeSeconds',
        () => sign(claims({ iat: nowSeconds - 3_700, exp: nowSeconds + 300 })),
        /issued more than 3600 s ago/,
      ],
      [
        'a token issued in the future',
        () => sign(claims({ iat: nowSeconds + 120 })),
        /issued more than 3600 s ago, or in the future/,
      ],
      ['a token not valid yet', () => sign(claims({ nbf: nowSeconds + 120 })), /not valid yet/],
      ['another audience', () => sign(claims({ aud: 'sts.amazonaws.com' })), /for another audience than slipway/],
      [
        'an issuer auth.oidc does not name',
        () => sign(claims({ iss: 'https://evil.example.com' })),
        /issuer "https:\/\/evil.example.com" is not one auth.oidc trusts/,
      ],
      ['no issuer at all', () => sign(claims({ iss: undefined })), /names no issuer/],
      ['no subject', () => sign(claims({ sub: undefined })), /has no sub claim/],
      ['no expiry', () => sign(claims({ exp: undefined })), /has no exp claim/],
      [
        'a key the issuer does not publish',
        () => sign(claims(), { key: stranger, kid: 'unknown' }),
        /no single signing key/,
      ],
      [
        'a signature by another key under a published key id',
        () => sign(claims(), { key: stranger }),
        /signature does not verify/,
      ],
      [
        'a tampered payload',
        async () => {
          const [header, , signature] = (await sign()).split('.');
          const forged = Buffer.from(JSON.stringify(claims({ repository: 'org/shop', sub: 'admin' }))).toString(
            'base64url',
          );
          return `${header}.${forged}.${signature}`;
        },
        /signature does not verify/,
      ],
      [
        'HS256 signed with the public key as a secret',
        async () => {
          const secret = new TextEncoder().encode(JSON.stringify(await exportJWK(rsa.publicKey)));
          return new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(secret);
        },
        /algorithm other than RS256 or ES256/,
      ],
      ['a JWT that is not JSON inside', async () => 'abc.def.ghi', /malformed/],
    ];

    it.each(cases)('%s', async (_case, make, reason) => {
      const token = await make();
      const error = await failure(verifier()(token));
      expect(error).toBeInstanceOf(Unauthenticated);
      expect(error.status).toBe(401);
      expect(error.message).toMatch(reason);
      for (const part of token.split('.')) expect(error.message).not.toContain(part);
      expect(error.cause).toBeUndefined();
    });

    it('accepts a token expired within the 60 s clock tolerance', async () => {
      expect((await verifier()(await sign(claims({ exp: nowSeconds - 30 })))).roles).toEqual(['deployer']);
    });
  });

  describe('an issuer that cannot be read is a 502, tried again on the next request', () => {
    it.each([
      ['answers 500', () => new Response('down', { status: 500 }), /it answered 500/],
      ['is not JSON', () => new Response('<html>', { status: 200 }), /it is not JSON/],
      [
        'names another issuer',
        () => json({ issuer: 'https://evil.example.com', jwks_uri: JWKS_URI }),
        /names issuer "https:\/\/evil.example.com"/,
      ],
      [
        'has a jwks_uri over http',
        () => json({ issuer: ISSUER, jwks_uri: 'http://keys.example.com/jwks' }),
        /jwks_uri is not https/,
      ],
      ['has no jwks_uri', () => json({ issuer: ISSUER }), /jwks_uri is not a URL/],
    ])('discovery that %s', async (_case, discovery, reason) => {
      server.discovery = discovery;
      const verify = verifier();
      const error = await failure(verify(await sign()));
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toMatch(reason);

      // When the issuer recovers, the next request discovers again and succeeds
      server.discovery = () => json({ issuer: ISSUER, jwks_uri: JWKS_URI });
      expect((await verify(await sign())).roles).toEqual(['deployer']);
      expect(server.asked.filter((url) => url === discoveryUrl(ISSUER))).toHaveLength(2);
    });

    it('keys that cannot be fetched', async () => {
      server.jwks = () => new Response('down', { status: 503 });
      const error = await failure(verifier()(await sign()));
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toBe(`cannot read the signing keys of issuer ${ISSUER}`);
    });

    it('a network failure', async () => {
      const broken = (async () => {
        throw new TypeError('fetch failed');
      }) as typeof fetch;
      const error = await failure(oidcVerifier([config], { fetch: broken })(await sign()));
      expect(error).toBeInstanceOf(UpstreamFailed);
      expect(error.message).toMatch(/request failed/);
    });
  });
});

describe('httpRoute with OIDC callers', () => {
  const stored = async () => [];
  const parsed = (response: APIGatewayProxyStructuredResultV2) => ({
    status: response.statusCode,
    body: JSON.parse(response.body ?? 'null'),
  });
  const getEnvironment = (oidc: boolean) =>
    httpRoute(
      apiRoutes.getEnvironment,
      { tokens: withOidc(stored, oidc ? verifier() : undefined) },
      async ({ principal }) => ({
        status: 200,
        body: { principal },
      }),
    );
  const event = (token: string, env = 'staging') =>
    httpEvent('not-found', {
      path: `/v1/apps/shop/environments/${env}`,
      pathParameters: { app: 'shop', env },
      token,
    });

  it('authenticates a JWT through the verifier and applies its scope', async () => {
    const route = getEnvironment(true);
    const token = await sign();
    expect(parsed(await route(event(token), lambdaContext()))).toMatchObject({
      status: 200,
      body: { principal: { name: 'oidc:issuer.example.com:repo:org/shop:ref:refs/heads/main' } },
    });
    const { status, body } = parsed(await route(event(token, 'production'), lambdaContext()));
    expect(status).toBe(403);
    expect(body.error.message).toMatch(/may not act on environment production/);
  });

  it('refuses a JWT when no issuer is configured, without reading the tokens secret for it', async () => {
    const { status, body } = parsed(await getEnvironment(false)(event(await sign()), lambdaContext()));
    expect(status).toBe(401);
    expect(body.error.message).toBe('the bearer token is a JWT, and no OIDC issuer is configured (auth.oidc)');
  });

  it('answers 401 for an expired JWT in the usual error shape', async () => {
    const token = await sign(claims({ iat: nowSeconds - 900, exp: nowSeconds - 600 }));
    const { status, body } = parsed(await getEnvironment(true)(event(token), lambdaContext()));
    expect(status).toBe(401);
    expect(body.error).toEqual({ code: 'UNAUTHENTICATED', message: 'the OIDC token has expired', details: {} });
  });
});
