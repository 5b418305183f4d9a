import { createHash, randomBytes } from 'node:crypto';
import {
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request as plainRequest,
  type ServerResponse,
} from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { selfSignedCertificate } from './tls';

/**
 * A stand-in for an OpenID Connect provider of people (Okta, Entra ID, Keycloak, Auth0…) on 127.0.0.1, over
 * HTTPS with a certificate made here, as a browser app meets one: discovery, JWKS, the authorization code flow
 * with PKCE (S256 only) for one public client, a sign-in page with a button per user instead of a password, the
 * token endpoint answering cross-origin calls from the client's origins, and RP-initiated logout. The rules are
 * those of RFC 6749 (OAuth 2.0), RFC 7636 (PKCE), OpenID Connect Core 1.0, Discovery 1.0 and RP-Initiated
 * Logout 1.0; sections are named where a check rests on one. A process trusts the certificate only when
 * started with NODE_EXTRA_CA_CERTS=certificatePath; this process through `certificate` (see httpsCall).
 */

/** A person who can sign in: `sub`, and the claims the ID token carries beside it (email, name, groups…). */
export interface ProviderUser extends JWTPayload {
  sub: string;
}

export interface ProviderClient {
  clientId: string;
  /** Compared exactly, as OAuth 2.0 Security BCP (RFC 9700) 2.1 asks. */
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

export interface OidcProviderOptions {
  /** Where the certificate and its key are written. */
  dir: string;
  /** Keyed by the name the sign-in page shows: "Sign in as <name>". */
  users: Record<string, ProviderUser>;
  client: ProviderClient;
  /** exp - iat of the ID tokens; default 300. */
  idTokenSeconds?: number;
  /** How long a code may wait for its redemption; default 60 (RFC 6749 4.1.2 recommends at most 10 minutes). */
  codeSeconds?: number;
}

/** What happened, for a test's assertions. */
export interface ProviderRecord {
  /** Codes made by a sign-in, in order. */
  codesIssued: Array<{ code: string; user: string; clientId: string; redirectUri: string }>;
  /** Codes exchanged for tokens, each once. */
  codesRedeemed: Array<{ code: string; user: string }>;
  tokensIssued: Array<{ user: string; idToken: string; accessToken: string }>;
  /** Every request refused, with the OAuth error code it was answered with. */
  refused: Array<{ endpoint: string; error: string; description: string }>;
  /** End-session requests that were sent back to the client. */
  logouts: Array<{ redirectTo: string }>;
}

export interface Tokens {
  access_token: string;
  id_token: string;
  token_type: string;
  expires_in: number;
}

export interface OidcProviderStandIn {
  /** https://127.0.0.1:<port>, the iss of its tokens. */
  issuer: string;
  certificatePath: string;
  certificate: Buffer;
  client: ProviderClient;
  record: ProviderRecord;
  /**
   * A user's tokens through the whole code flow over HTTP, as a client would get them: the authorization
   * request, the sign-in page's button pressed, the code from the redirect, the exchange with the verifier.
   */
  signInOverHttp(user: string, redirectUri?: string): Promise<Tokens>;
  /** exp - iat of the ID tokens issued from now on: a test shortens it to see a session end. */
  setIdTokenSeconds(seconds: number): void;
  close(): Promise<void>;
}

/** An answer as plain data: status, headers (lower case), body. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One request over HTTP or HTTPS, trusting `ca` besides the system's CAs, with redirects not followed (a
 * code flow reads them). Node's fetch reads its trust store only at start (NODE_EXTRA_CA_CERTS), hence this.
 */
export function httpsCall(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer } = {},
): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : plainRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.ca ? { ca: init.ca } : {}) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
}

/** RFC 7636 4.1: 43 to 128 characters of the unreserved set. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** A fresh verifier (32 random bytes, base64url: 43 characters, as RFC 7636 4.1 suggests) and its challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256(verifier) };
}

const randomToken = () => randomBytes(24).toString('base64url');

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);

/** The parameters of an authorization request this provider reads (OpenID Connect Core 1.0, 3.1.2.1). */
const AUTHORIZE_PARAMETERS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
] as const;

interface PendingCode {
  user: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string;
  expiresAt: number;
  redeemed: boolean;
}

/** An OAuth error for the client (RFC 6749 4.1.2.1 and 5.2). */
class OAuthRefusal extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', reject);
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function signInPage(users: string[], parameters: Record<string, string>): string {
  const hidden = Object.entries(parameters)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n      ');
  const buttons = users
    .map(
      (user) => `<button type="submit" name="user" value="${escapeHtml(user)}">Sign in as ${escapeHtml(user)}</button>`,
    )
    .join('\n      ');
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Sign in</title></head>
  <body>
    <h1>Sign in</h1>
    <form method="post" action="/authorize">
      ${hidden}
      ${buttons}
    </form>
  </body>
</html>
`;
}

function errorPage(message: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Sign-in error</title></head>
  <body><h1>Sign-in error</h1><p>${escapeHtml(message)}</p></body>
</html>
`;
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProviderStandIn> {
  const { key, cert } = selfSignedCertificate(options.dir);
  const signingKey = await generateKeyPair('RS256', { extractable: true });
  const kid = `provider-${randomBytes(4).toString('hex')}`;
  const jwks = { keys: [{ ...(await exportJWK(signingKey.publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  let idTokenSeconds = options.idTokenSeconds ?? 300;
  const codeSeconds = options.codeSeconds ?? 60;
  const client = options.client;
  const record: ProviderRecord = { codesIssued: [], codesRedeemed: [], tokensIssued: [], refused: [], logouts: [] };
  const codes = new Map<string, PendingCode>();
  /** The origins a browser app of the client calls from: those of its redirect URIs. */
  const origins = new Set(client.redirectUris.map((uri) => new URL(uri).origin));
  let issuer = '';

  const discovery = () => ({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    end_session_endpoint: `${issuer}/logout`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'profile', 'email'],
    token_endpoint_auth_methods_supported: ['none'],
    claims_supported: ['iss', 'aud', 'sub', 'iat', 'exp', 'nonce', 'auth_time', 'email', 'name', 'groups'],
  });

  const refuse = (endpoint: string, refusal: OAuthRefusal) => {
    record.refused.push({ endpoint, error: refusal.error, description: refusal.description });
  };

  /**
   * The client and redirect URI, which must be right before anything is sent back to the redirect URI
   * (RFC 6749 4.1.2.1: otherwise the user is told, and never redirected).
   */
  const redirectTarget = (parameters: URLSearchParams): string | undefined => {
    const redirectUri = parameters.get('redirect_uri') ?? '';
    if (parameters.get('client_id') !== client.clientId) return undefined;
    return client.redirectUris.includes(redirectUri) ? redirectUri : undefined;
  };

  /** The checks of an authorization request once its redirect URI is known good. */
  const checkAuthorization = (parameters: URLSearchParams) => {
    if (parameters.get('response_type') !== 'code') {
      throw new OAuthRefusal('unsupported_response_type', 'only response_type=code is supported');
    }
    const scopes = (parameters.get('scope') ?? '').split(' ');
    // OpenID Connect Core 1.0, 3.1.2.1: without openid it is not an OpenID Connect request.
    if (!scopes.includes('openid')) throw new OAuthRefusal('invalid_scope', 'scope must contain openid');
    if (!parameters.get('code_challenge')) {
      // RFC 7636 4.4.1, and OAuth 2.0 Security BCP (RFC 9700) 2.1.1: a public client must use PKCE.
      throw new OAuthRefusal('invalid_request', 'code_challenge is required');
    }
    if (parameters.get('code_challenge_method') !== 'S256') {
      throw new OAuthRefusal(
        'invalid_request',
        'transform algorithm not supported: code_challenge_method must be S256',
      );
    }
    if (!parameters.get('state')) throw new OAuthRefusal('invalid_request', 'state is required');
    if (!parameters.get('nonce')) throw new OAuthRefusal('invalid_request', 'nonce is required');
    // OpenID Connect Core 1.0, 3.1.2.6: no session is kept here, so a sign-in without a page cannot happen.
    if ((parameters.get('prompt') ?? '').split(' ').includes('none')) {
      throw new OAuthRefusal('login_required', 'the user must sign in');
    }
  };

  const redirectWith = (response: ServerResponse, redirectUri: string, answer: Record<string, string | null>) => {
    const location = new URL(redirectUri);
    for (const [name, value] of Object.entries(answer)) if (value) location.searchParams.set(name, value);
    response.writeHead(302, { location: location.toString(), 'cache-control': 'no-store' });
    response.end();
  };

  const page = (response: ServerResponse, status: number, html: string) => {
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(html);
  };

  const authorize = (response: ServerResponse, parameters: URLSearchParams, chosenUser: string | undefined) => {
    const redirectUri = redirectTarget(parameters);
    if (!redirectUri) {
      const refusal = new OAuthRefusal('invalid_request', 'unknown client_id, or a redirect_uri not registered for it');
      refuse('authorize', refusal);
      return page(response, 400, errorPage(refusal.description));
    }
    const state = parameters.get('state');
    try {
      checkAuthorization(parameters);
    } catch (error) {
      const refusal = error as OAuthRefusal;
      refuse('authorize', refusal);
      return redirectWith(response, redirectUri, {
        error: refusal.error,
        error_description: refusal.description,
        state,
      });
    }
    const kept = Object.fromEntries(
      AUTHORIZE_PARAMETERS.flatMap((name) => {
        const value = parameters.get(name);
        return value === null ? [] : [[name, value]];
      }),
    );
    if (chosenUser === undefined) return page(response, 200, signInPage(Object.keys(options.users), kept));
    if (!Object.hasOwn(options.users, chosenUser)) return page(response, 400, errorPage(`no user ${chosenUser}`));
    const code = randomToken();
    codes.set(code, {
      user: chosenUser,
      clientId: client.clientId,
      redirectUri,
      challenge: parameters.get('code_challenge') as string,
      nonce: parameters.get('nonce') as string,
      expiresAt: Date.now() + codeSeconds * 1_000,
      redeemed: false,
    });
    record.codesIssued.push({ code, user: chosenUser, clientId: client.clientId, redirectUri });
    return redirectWith(response, redirectUri, { code, state });
  };

  /** RFC 6749 4.1.3 and 5.1, RFC 7636 4.6: one code, once, for the client and redirect URI it was made for. */
  const exchange = async (form: URLSearchParams): Promise<Tokens> => {
    if (form.get('grant_type') !== 'authorization_code') {
      throw new OAuthRefusal('unsupported_grant_type', 'only grant_type=authorization_code is supported');
    }
    const clientId = form.get('client_id');
    if (clientId !== client.clientId) throw new OAuthRefusal('invalid_client', 'unknown client_id');
    const code = form.get('code') ?? '';
    const verifier = form.get('code_verifier') ?? '';
    if (!code || !verifier) throw new OAuthRefusal('invalid_request', 'code and code_verifier are required');
    const pending = codes.get(code);
    if (!pending) throw new OAuthRefusal('invalid_grant', 'unknown code');
    if (pending.redeemed) throw new OAuthRefusal('invalid_grant', 'the code was used already');
    // RFC 6749 4.1.2: a code is used at most once, whatever the outcome of its exchange.
    pending.redeemed = true;
    if (Date.now() > pending.expiresAt) throw new OAuthRefusal('invalid_grant', 'the code has expired');
    if (form.get('redirect_uri') !== pending.redirectUri) {
      throw new OAuthRefusal('invalid_grant', 'redirect_uri differs from the authorization request');
    }
    if (!VERIFIER.test(verifier) || s256(verifier) !== pending.challenge) {
      throw new OAuthRefusal('invalid_grant', 'code_verifier does not match the code_challenge');
    }
    record.codesRedeemed.push({ code, user: pending.user });
    const { sub, ...claims } = options.users[pending.user] as ProviderUser;
    const now = Math.floor(Date.now() / 1_000);
    const idToken = await new SignJWT({ ...claims, nonce: pending.nonce, auth_time: now })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(clientId)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + idTokenSeconds)
      .sign(signingKey.privateKey);
    const accessToken = randomToken();
    record.tokensIssued.push({ user: pending.user, idToken, accessToken });
    return { access_token: accessToken, id_token: idToken, token_type: 'Bearer', expires_in: idTokenSeconds };
  };

  /** RP-Initiated Logout 1.0, 2 and 3: back to a registered post_logout_redirect_uri, with the state. */
  const logout = (response: ServerResponse, parameters: URLSearchParams) => {
    const target = parameters.get('post_logout_redirect_uri') ?? '';
    if (!(client.postLogoutRedirectUris ?? []).includes(target)) {
      const refusal = new OAuthRefusal('invalid_request', 'post_logout_redirect_uri is not registered');
      refuse('logout', refusal);
      return page(response, 400, errorPage(refusal.description));
    }
    const location = new URL(target);
    const state = parameters.get('state');
    if (state) location.searchParams.set('state', state);
    record.logouts.push({ redirectTo: location.toString() });
    response.writeHead(302, { location: location.toString(), 'cache-control': 'no-store' });
    response.end();
  };

  const server = createServer({ key, cert }, (request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    const method = request.method ?? 'GET';
    const origin = request.headers.origin;
    // Fetch standard, CORS protocol: the answer names the origin it lets read it.
    const cors: OutgoingHttpHeaders =
      origin && origins.has(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
    const json = (status: number, body: unknown, extra: OutgoingHttpHeaders = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...cors, ...extra });
      response.end(JSON.stringify(body));
    };
    const crossOrigin = ['/.well-known/openid-configuration', '/jwks', '/token'].includes(url.pathname);
    if (method === 'OPTIONS' && crossOrigin) {
      response.writeHead(204, {
        ...cors,
        'access-control-allow-methods': url.pathname === '/token' ? 'POST' : 'GET',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
      return response.end();
    }
    if (method === 'GET' && url.pathname === '/.well-known/openid-configuration') return json(200, discovery());
    if (method === 'GET' && url.pathname === '/jwks') return json(200, jwks);
    if (method === 'GET' && url.pathname === '/authorize') return authorize(response, url.searchParams, undefined);
    if (method === 'POST' && url.pathname === '/authorize') {
      return void readBody(request).then((body) => {
        const form = new URLSearchParams(body);
        return authorize(response, form, form.get('user') ?? '');
      });
    }
    if (method === 'POST' && url.pathname === '/token') {
      return void readBody(request)
        .then((body) => exchange(new URLSearchParams(body)))
        .then(
          // RFC 6749 5.1: tokens are never cached.
          (tokens) => json(200, tokens, { 'cache-control': 'no-store', pragma: 'no-cache' }),
          (error: Error) => {
            if (!(error instanceof OAuthRefusal)) return json(500, { error: 'server_error' });
            refuse('token', error);
            // RFC 6749 5.2: 400, or 401 for a client that failed to authenticate.
            const status = error.error === 'invalid_client' ? 401 : 400;
            return json(
              status,
              { error: error.error, error_description: error.description },
              { 'cache-control': 'no-store' },
            );
          },
        );
    }
    if (method === 'GET' && url.pathname === '/logout') return logout(response, url.searchParams);
    // Browsers ask every origin for one; a 404 would be a console error on the sign-in page.
    if (method === 'GET' && url.pathname === '/favicon.ico') {
      response.writeHead(204, { 'cache-control': 'max-age=3600' });
      return response.end();
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signInOverHttp = async (user: string, redirectUri = client.redirectUris[0] as string): Promise<Tokens> => {
    const { verifier, challenge } = pkcePair();
    const state = randomToken();
    const parameters = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid profile email',
      state,
      nonce: randomToken(),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const shown = await httpsCall(`${issuer}/authorize?${parameters}`, { ca: cert });
    if (shown.status !== 200 || !shown.body.includes(`>Sign in as ${escapeHtml(user)}</button>`)) {
      throw new Error(`the sign-in page answered ${shown.status} without a button for ${user}:\n${shown.body}`);
    }
    parameters.set('user', user);
    const chosen = await httpsCall(`${issuer}/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: String(parameters),
      ca: cert,
    });
    const back = new URL(chosen.headers.location ?? 'about:blank');
    const code = back.searchParams.get('code');
    if (chosen.status !== 302 || back.searchParams.get('state') !== state || !code) {
      throw new Error(`signing in as ${user} answered ${chosen.status} to ${back}`);
    }
    const answer = await httpsCall(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: String(
        new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: client.clientId,
          code_verifier: verifier,
        }),
      ),
      ca: cert,
    });
    if (answer.status !== 200) throw new Error(`the token endpoint answered ${answer.status}: ${answer.body}`);
    return JSON.parse(answer.body) as Tokens;
  };

  return {
    issuer,
    certificatePath: join(options.dir, 'cert.pem'),
    certificate: cert,
    client,
    record,
    signInOverHttp,
    setIdTokenSeconds: (seconds: number) => {
      idTokenSeconds = seconds;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
