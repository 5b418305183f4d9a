import type { ConsoleConfig } from '../types';
import {
  authorizationUrl,
  CALLBACK_PATH,
  callbackCode,
  checkIdToken,
  endSessionUrl,
  redirectUriOf,
  SignInError,
  tokenRequestBody,
} from './oidc';
import { codeChallenge, randomToken } from './pkce';
import { currentSession, forgetSession, returnPathOf, savePending, setSession, takePending } from './session';

/** The sign-in's steps in the browser: the redirect out, the callback back, and signing out. */

export async function startSignIn(config: ConsoleConfig, returnTo: string): Promise<void> {
  const pending = {
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(),
    returnTo: returnPathOf(returnTo),
  };
  savePending(sessionStorage, pending);
  const challenge = await codeChallenge(pending.verifier);
  location.assign(
    authorizationUrl(config, {
      state: pending.state,
      nonce: pending.nonce,
      challenge,
      redirectUri: redirectUriOf(location.origin),
    }),
  );
}

export const isCallback = (path: string) => path === CALLBACK_PATH;

/**
 * Completes the sign-in on the callback: checks the answer, exchanges the code, checks the ID token,
 * keeps it in memory, and takes the code out of the address bar whatever happened.
 */
export async function completeSignIn(config: ConsoleConfig): Promise<void> {
  const pending = takePending(sessionStorage);
  try {
    const code = callbackCode(location.search, pending);
    const verified = pending as NonNullable<typeof pending>;
    const redirectUri = redirectUriOf(location.origin);
    const response = await fetch(config.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: tokenRequestBody(config, code, verified, redirectUri),
    }).catch(() => {
      throw new SignInError('The identity provider could not be reached to complete the sign-in.');
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const why = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
      const description = typeof body.error_description === 'string' ? ` (${body.error_description})` : '';
      throw new SignInError(`The identity provider refused the authorization code: ${why}${description}.`);
    }
    if (typeof body.id_token !== 'string') throw new SignInError('The identity provider answered without an ID token.');
    const claims = checkIdToken(body.id_token, {
      issuer: config.issuer,
      clientId: config.clientId,
      nonce: verified.nonce,
      now: Date.now(),
    });
    setSession({ idToken: body.id_token, claims });
    history.replaceState(null, '', verified.returnTo);
  } catch (error) {
    history.replaceState(null, '', returnPathOf(pending?.returnTo));
    throw error;
  }
}

/** Forgets the token; answers true when the browser is on its way to the identity provider's logout. */
export function signOut(config: ConsoleConfig | undefined): boolean {
  const session = currentSession();
  forgetSession();
  const logout = config && session ? endSessionUrl(config, location.origin) : undefined;
  if (logout) location.assign(logout);
  return logout !== undefined;
}
