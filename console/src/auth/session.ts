import { CALLBACK_PATH, type IdTokenClaims, type PendingSignIn } from './oidc';

/**
 * Where a sign-in's parts live. The ID token: in this module only, in memory, so a reload or a new tab
 * asks to sign in again and no script reads it back from storage. What a sign-in keeps across the
 * redirect (state, nonce, verifier, the path to return to): sessionStorage, until the callback takes it.
 */

/** The part of the Web Storage API a pending sign-in needs (sessionStorage in the browser). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const PENDING_KEY = 'slipway.console.sign-in';

export function savePending(storage: KeyValueStorage, pending: PendingSignIn): void {
  storage.setItem(PENDING_KEY, JSON.stringify(pending));
}

/** The pending sign-in, removed from storage as it is read: an answer is accepted once. */
export function takePending(storage: KeyValueStorage): PendingSignIn | undefined {
  const raw = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY);
  if (!raw) return undefined;
  try {
    const pending = JSON.parse(raw) as Partial<PendingSignIn>;
    const fields = [pending.state, pending.nonce, pending.verifier, pending.returnTo];
    return fields.every((field) => typeof field === 'string') ? (pending as PendingSignIn) : undefined;
  } catch {
    return undefined;
  }
}

/** A path to come back to after signing in: one of the console's own, never another origin's. */
export function returnPathOf(path: string | undefined): string {
  return path?.startsWith('/console/') && !path.startsWith('/console//') && !path.startsWith(CALLBACK_PATH)
    ? path
    : '/console/';
}

export interface SignedIn {
  idToken: string;
  claims: IdTokenClaims;
}

let current: SignedIn | undefined;

export function setSession(signedIn: SignedIn): void {
  current = signedIn;
}

export function currentSession(): SignedIn | undefined {
  return current;
}

export function forgetSession(): void {
  current = undefined;
}
