import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { selfSignedCertificate } from './tls';

/**
 * A stand-in for GitHub's OIDC token service on 127.0.0.1, over HTTPS with a certificate made here:
 * the issuer's discovery document and JWKS, as Slipway's verifier reads them, and the token request
 * a job makes (GET ACTIONS_ID_TOKEN_REQUEST_URL&audience=…, bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN,
 * answer `{"value": "<jwt>"}`, as actions/toolkit's oidc-utils.ts asks for it). A process trusts the
 * certificate only when started with NODE_EXTRA_CA_CERTS=certificatePath.
 */
export interface OidcIssuerStandIn {
  /** The iss of its tokens: https://127.0.0.1:<port>. */
  issuer: string;
  certificatePath: string;
  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestUrl: string;
  requestToken: string;
  /** The claims of the next tokens, beside iss, aud, iat and exp. */
  claims: JWTPayload;
  /** Each token handed out, with the audience it was asked for. */
  issued: Array<{ audience: string | null; jwt: string }>;
  close(): Promise<void>;
}

export async function startOidcIssuer(dir: string): Promise<OidcIssuerStandIn> {
  const { key, cert } = selfSignedCertificate(dir);
  const signingKey = await generateKeyPair('RS256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(signingKey.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }] };
  const requestToken = `runtime-${process.pid}-${Date.now()}`;
  const stand: Omit<OidcIssuerStandIn, 'issuer' | 'requestUrl' | 'close'> = {
    certificatePath: join(dir, 'cert.pem'),
    requestToken,
    claims: {},
    issued: [],
  };
  let issuer = '';
  const server = createServer({ key, cert }, (request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') return send(200, { issuer, jwks_uri: `${issuer}/jwks` });
    if (url.pathname === '/jwks') return send(200, jwks);
    if (url.pathname !== '/token') return send(404, { message: 'Not Found' });
    if (request.headers.authorization !== `Bearer ${requestToken}`) return send(401, { message: 'Bad credentials' });
    const audience = url.searchParams.get('audience');
    new SignJWT(stand.claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1', typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience ?? issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signingKey.privateKey)
      .then(
        (jwt) => {
          stand.issued.push({ audience, jwt });
          send(200, { count: 1, value: jwt });
        },
        (error: Error) => send(500, { message: error.message }),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(stand, {
    issuer,
    // GitHub's URL carries a query of its own; the job appends `&audience=`.
    requestUrl: `${issuer}/token?api-version=2.0`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
