import { currentSession } from './auth/session';

/**
 * Calls to the control plane's API, on the console's own origin: the ID token as a bearer token, a
 * fresh Idempotency-Key on every mutation, and the API's `{error: {code, message}}` as an ApiError.
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Listener = (error: ApiError) => void;
let unauthorized: Listener = () => undefined;

/** Who hears of a 401: the session is over, whatever page asked. */
export function onUnauthorized(listener: Listener): void {
  unauthorized = listener;
}

async function call<T>(method: 'GET' | 'POST', path: string, init: { body?: unknown } = {}): Promise<T> {
  const session = currentSession();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (session) headers.authorization = `Bearer ${session.idToken}`;
  if (method === 'POST') {
    headers['idempotency-key'] = crypto.randomUUID();
    if (init.body !== undefined) headers['content-type'] = 'application/json';
  }
  const body = await answer(path, {
    method,
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return body as T;
}

/** A GET of an API path with its query (undefined values left out). */
export function apiGet<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const search = params.toString();
  return call<T>('GET', search ? `${path}?${search}` : path);
}

export function apiPost<T>(path: string, body?: unknown): Promise<T> {
  return call<T>('POST', path, body === undefined ? {} : { body });
}

/** The console's settings, from the server before anyone signs in. */
export function fetchConfig<T>(): Promise<T> {
  return answer('/console/config.json', { headers: { accept: 'application/json' } }) as Promise<T>;
}

/** The JSON body of a 2xx answer; anything else as an ApiError with the API's own code and message. */
async function answer(url: string, init: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, 'NETWORK', 'The control plane could not be reached.');
  }
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string } }
    | undefined;
  if (response.ok) return body;
  const error = new ApiError(
    response.status,
    body?.error?.code ?? `HTTP_${response.status}`,
    body?.error?.message ?? `The control plane answered ${response.status}.`,
  );
  if (response.status === 401) unauthorized(error);
  throw error;
}
