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
