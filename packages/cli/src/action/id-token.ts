import { oneLine } from '../errors';

/**
 * The workflow's OIDC ID token, as GitHub's toolkit asks for it (actions/toolkit, core's
 * oidc-utils.ts): GET ACTIONS_ID_TOKEN_REQUEST_URL with `&audience=<aud>` appended, the bearer
 * ACTIONS_ID_TOKEN_REQUEST_TOKEN, and the JWT in the answer's `value`. The runner sets both
 * variables only for a job with `permissions: id-token: write`.
 */

export class IdTokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IdTokenError';
  }
}

export async function requestIdToken(
  env: NodeJS.ProcessEnv,
  audience: string,
  fetchImpl: typeof fetch = globalThis.fetch,
  timeoutMs = 30_000,
): Promise<string> {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) {
    throw new IdTokenError(
      'no OIDC token can be requested (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set): give the job permissions: id-token: write',
    );
  }
  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(`${url}&audience=${encodeURIComponent(audience)}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${bearer}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    throw new IdTokenError(`the OIDC token request failed: ${oneLine((error as Error).message)}`, { cause: error });
  }
  if (!response.ok) {
    throw new IdTokenError(`the OIDC token request answered ${response.status}: ${oneLine(text).slice(0, 200)}`);
  }
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value === '') throw new IdTokenError('the OIDC token answer has no value');
  return value;
}

/** The `exp` of a JWT, in ms since the epoch; undefined when it has none that can be read. */
export function expiryOf(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** How long before its expiry a token is replaced: a request and its retries fit in it. */
export const RENEW_BEFORE_MS = 60_000;

export interface IdTokenSourceOptions {
  env: NodeJS.ProcessEnv;
  audience: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** Called with each token as it arrives, before it is used: to mask it and to redact it. */
  onToken(jwt: string): void;
}

/**
 * The current ID token, asked for again when it is about to expire: GitHub's live minutes, while a
 * deployment is followed for up to an hour; the request token stays valid for the whole job.
 */
export function idTokenSource(options: IdTokenSourceOptions): () => Promise<string> {
  const now = options.now ?? Date.now;
  let current: { jwt: string; expiresAt: number | undefined } | undefined;
  return async () => {
    if (current && (current.expiresAt === undefined || current.expiresAt - now() > RENEW_BEFORE_MS)) return current.jwt;
    const jwt = await requestIdToken(options.env, options.audience, options.fetch);
    options.onToken(jwt);
    current = { jwt, expiresAt: expiryOf(jwt) };
    return jwt;
  };
}
