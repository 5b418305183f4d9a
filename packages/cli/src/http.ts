import { ApiError, NetworkError, oneLine, statusText } from './errors';
import type { Settings } from './profile';
import type { ApiRequest } from './requests';

/**
 * The control plane over HTTP: Node's fetch, a deadline per request, JSON both ways.
 * Every failure becomes an ApiError (it answered with an error) or a NetworkError (it did not answer).
 */

export const REQUEST_TIMEOUT_MS = 30_000;

export interface ClientOptions {
  settings: Settings;
  fetch?: typeof fetch;
  timeoutMs?: number;
  userAgent?: string;
  /** The bearer of each request, when it changes (a CI job's short-lived OIDC token); default: settings.token. */
  bearer?: () => Promise<string>;
}

type ErrnoLike = { code?: unknown; message?: unknown; cause?: unknown; name?: unknown };

/** The innermost `code` of an error chain (undici wraps the socket error in `cause`, sometimes twice). */
function causeCode(error: unknown): string | undefined {
  let current = error as ErrnoLike | undefined;
  let found: string | undefined;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (typeof current.code === 'string') found = current.code;
    if (current.cause && typeof current.cause === 'object' && !(current.cause instanceof AggregateError)) {
      current = current.cause as ErrnoLike;
      continue;
    }
    if (current.cause instanceof AggregateError) {
      // Happy eyeballs: one error per address tried; they agree in practice.
      current = current.cause.errors[0] as ErrnoLike | undefined;
      continue;
    }
    break;
  }
  return found;
}

/** Why the request got no answer, in words, with what to check. */
export function networkReason(error: unknown, urlSource: string, timeoutMs: number): string {
  const name = (error as ErrnoLike | undefined)?.name;
  if (name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs / 1000)} s (timed out)`;
  const code = causeCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused (is the control plane running? the URL comes from ${urlSource})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${code}; check the URL from ${urlSource})`;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer came';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connection timed out (is the host of the URL from ${urlSource} reachable from here?)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to the host (${code})`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the TLS certificate is not trusted (${code})`;
    default: {
      const inner = (error as ErrnoLike | undefined)?.cause as ErrnoLike | undefined;
      const message = typeof inner?.message === 'string' && inner.message ? inner.message : (error as Error)?.message;
      return oneLine(`${message ?? 'the request failed'}${code ? ` (${code})` : ''}`);
    }
  }
}

export class ApiClient {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: ClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  get baseUrl(): string {
    return this.options.settings.url;
  }

  urlOf(request: Pick<ApiRequest, 'path' | 'query'>): string {
    const url = new URL(`${this.baseUrl}${request.path}`);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
    return url.toString();
  }

  /** A client for another server (the sandbox's endpoint, named by the control plane): the token is not sent there. */
  beside(url: string, urlSource: string): ApiClient {
    const { bearer: _bearer, ...options } = this.options;
    return new ApiClient({ ...options, settings: { url, urlSource, token: '', tokenSource: 'none' } });
  }

  /** The parsed JSON body of a 2xx answer; throws ApiError or NetworkError otherwise. */
  async send<T = unknown>(request: ApiRequest, signal?: AbortSignal): Promise<T> {
    const url = this.urlOf(request);
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const token = this.options.bearer ? await this.options.bearer() : this.options.settings.token;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      'user-agent': this.options.userAgent ?? 'slipway-cli',
    };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        method: request.method,
        headers,
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        signal: signal ? AbortSignal.any([deadline, signal]) : deadline,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw new NetworkError(
        `cannot reach ${this.baseUrl}: ${networkReason(error, this.options.settings.urlSource, this.timeoutMs)}`,
        { cause: error },
      );
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      const message =
        typeof error?.message === 'string' && error.message
          ? error.message
          : text.trim()
            ? oneLine(text).slice(0, 200)
            : `${request.method} ${request.path} answered ${statusText(response.status)}`;
      throw new ApiError(
        response.status,
        message,
        typeof error?.code === 'string' ? error.code : undefined,
        error?.details,
      );
    }
    if (body === undefined && text !== '') {
      throw new ApiError(
        response.status,
        `${request.method} ${request.path} answered with something that is not JSON; is ${this.baseUrl} a Slipway control plane?`,
      );
    }
    return body as T;
  }
}
