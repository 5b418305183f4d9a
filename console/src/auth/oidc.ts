import type { ConsoleConfig } from '../types';

/**
 * The console's half of the OpenID Connect authorization code flow with PKCE, as a public client
 * (OpenID Connect Core 1.0, sections 3.1.2 to 3.1.3.7; RFC 7636): the URLs and checks as plain
 * functions of their inputs. The ID token is decoded, not verified: the API verifies its signature
 * on every call, and the console only makes sure it is the answer to its own request.
 */

/** What a sign-in keeps across the redirect to the identity provider (never a token). */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  /** The console path to come back to. */
  returnTo: string;
}

/** The claims the console reads from an ID token. */
export interface IdTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  nonce?: string;
  azp?: string;
  [claim: string]: unknown;
}

/** A sign-in that cannot go on; its message is shown as it is. */
export class SignInError extends Error {
  override readonly name = 'SignInError';
}

export const CALLBACK_PATH = '/console/callback';

export const redirectUriOf = (origin: string) => `${origin}${CALLBACK_PATH}`;

/** Where "Sign in" sends the browser: the authorization request (Core 3.1.2.1) with the S256 challenge. */
export function authorizationUrl(
  config: Pick<ConsoleConfig, 'authorizationEndpoint' | 'clientId' | 'scopes'>,
  request: { state: string; nonce: string; challenge: string; redirectUri: string },
): string {
  const url = new URL(config.authorizationEndpoint);
  const params = {
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: request.redirectUri,
    scope: config.scopes.join(' '),
    state: request.state,
    nonce: request.nonce,
    code_challenge: request.challenge,
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

/** The code from the identity provider's answer on the callback, once its state is ours (Core 3.1.2.5 to 3.1.2.7). */
export function callbackCode(search: string, pending: PendingSignIn | undefined): string {
  const params = new URLSearchParams(search);
  const error = params.get('error');
  if (error) {
    const description = params.get('error_description');
    throw new SignInError(
      `The identity provider refused the sign-in: ${error}${description ? ` (${description})` : ''}.`,
    );
  }
  if (!pending) {
    throw new SignInError('This sign-in was not started in this tab, or was already completed. Sign in again.');
  }
  if (params.get('state') !== pending.state) {
    throw new SignInError(
      'The sign-in answer does not match the request this tab made (state differs). Sign in again.',
    );
  }
  const code = params.get('code');
  if (!code) throw new SignInError('The identity provider answered without an authorization code.');
  return code;
}

/** The token request's form body (Core 3.1.3.1, RFC 7636 section 4.5): a public client sends no secret. */
export function tokenRequestBody(
  config: Pick<ConsoleConfig, 'clientId'>,
  code: string,
  pending: Pick<PendingSignIn, 'verifier'>,
  redirectUri: string,
): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: config.clientId,
    code_verifier: pending.verifier,
  });
}

/** A JWT's payload, decoded and not verified. */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  const [, payload] = token.split('.');
  if (!payload) throw new SignInError('The identity provider answered with an ID token that is not a JWT.');
  const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
  try {
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('not an object');
    return claims as Record<string, unknown>;
  } catch {
    throw new SignInError('The identity provider answered with an ID token whose payload is not JSON.');
  }
}

/**
 * The ID token's claims, once it is the answer to this sign-in (Core 3.1.3.7): our issuer, our client
 * among its audiences (and the authorized party when there are several), our nonce, not expired.
 */
export function checkIdToken(
  token: string,
  expected: { issuer: string; clientId: string; nonce: string; now: number },
): IdTokenClaims {
  const claims = decodeJwtPayload(token);
  if (claims.iss !== expected.issuer) {
    throw new SignInError(`The ID token was issued by ${String(claims.iss)}, not by ${expected.issuer}.`);
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.clientId)) {
    throw new SignInError(`The ID token is for ${audiences.join(', ')}, not for this console (${expected.clientId}).`);
  }
  if (audiences.length > 1 && claims.azp !== expected.clientId) {
    throw new SignInError(
      `The ID token was issued to ${String(claims.azp)}, not to this console (${expected.clientId}).`,
    );
  }
  if (claims.nonce !== expected.nonce) {
    throw new SignInError('The ID token does not carry the nonce of this sign-in. Sign in again.');
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= expected.now) {
    throw new SignInError('The ID token has expired already. Check this device’s clock, then sign in again.');
  }
  if (typeof claims.sub !== 'string') throw new SignInError('The ID token names no subject.');
  return claims as IdTokenClaims;
}

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), when the identity provider offers it: by client_id
 * and the way back, without id_token_hint (2: OPTIONAL), so the ID token, still valid for up to an hour, is never
 * written into a URL and the browser's history. A provider that insists on the hint asks the person to confirm.
 */
export function endSessionUrl(
  config: Pick<ConsoleConfig, 'endSessionEndpoint' | 'clientId'>,
  origin: string,
): string | undefined {
  if (!config.endSessionEndpoint) return undefined;
  const url = new URL(config.endSessionEndpoint);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('post_logout_redirect_uri', `${origin}/console/`);
  return url.toString();
}
