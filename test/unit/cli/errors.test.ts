import {
  ApiError,
  apiErrorText,
  errorLine,
  exitCodeOf,
  NetworkError,
  SetupError,
  UsageError,
} from '../../../packages/cli/src/errors';
import { ApiClient, networkReason } from '../../../packages/cli/src/http';

const settings = {
  url: 'http://127.0.0.1:3000',
  urlSource: 'SLIPWAY_URL',
  token: 'slw_secret-token-1',
  tokenSource: '--token',
};

/** A fetch that answers every request with one response, and records what it was asked. */
function answering(status: number, body: string) {
  const seen: Array<{ url: string; init: RequestInit }> = [];
  const fake = (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), init: init ?? {} });
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { fake, seen };
}

/** A fetch that fails the way undici does when no answer comes. */
function failing(error: unknown): typeof fetch {
  return (async () => {
    throw error;
  }) as typeof fetch;
}

const socketError = (code: string) =>
  Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error(`connect ${code} 127.0.0.1:3000`), { code }),
  });

async function failure(client: ApiClient): Promise<unknown> {
  try {
    await client.send({ method: 'GET', path: '/v1/apps' });
  } catch (error) {
    return error;
  }
  throw new Error('the request succeeded');
}

describe('the error line', () => {
  it('renders a 4xx as status, reason phrase and the server’s message, exit 3', async () => {
    // Given a control plane that refuses with its error shape
    const { fake } = answering(
      409,
      JSON.stringify({
        error: {
          code: 'CONFLICT',
          message: 'shop/staging has deployment dep-1 in flight',
          details: { inFlight: 'dep-1' },
        },
      }),
    );

    // When a request is sent
    const error = await failure(new ApiClient({ settings, fetch: fake }));

    // Then it is one line, and a client error
    expect(errorLine(error)).toBe('slipway: 409 Conflict: shop/staging has deployment dep-1 in flight');
    expect(exitCodeOf(error)).toBe(3);
  });

  it('adds the fields the details name when the message does not', () => {
    expect(
      apiErrorText(400, 'the body is invalid', [
        { location: 'body', field: 'tag', message: 'expected an image tag' },
        { location: 'body', field: 'reason', message: 'expected a string' },
      ]),
    ).toBe('400 Bad Request: the body is invalid (fields body.tag, body.reason)');
    expect(
      apiErrorText(400, 'body.tag: is required: give exactly one of tag or digest', [
        { location: 'body', field: 'tag', message: 'is required' },
      ]),
    ).toBe('400 Bad Request: body.tag: is required: give exactly one of tag or digest');
  });

  it('treats a 5xx as the operation failing, exit 1, with the request id to quote', async () => {
    const { fake } = answering(
      502,
      JSON.stringify({
        error: {
          code: 'UPSTREAM_FAILED',
          message: 'the request failed on the server; quote request id 7f3c',
          details: { requestId: '7f3c' },
        },
      }),
    );
    const error = await failure(new ApiClient({ settings, fetch: fake }));
    expect(errorLine(error)).toBe('slipway: 502 Bad Gateway: the request failed on the server; quote request id 7f3c');
    expect(exitCodeOf(error)).toBe(1);
  });

  it('says so when the answer is not the control plane’s JSON', async () => {
    const { fake } = answering(404, '<html><body>Not Found</body></html>');
    const error = await failure(new ApiClient({ settings, fetch: fake }));
    expect(errorLine(error)).toBe('slipway: 404 Not Found: <html><body>Not Found</body></html>');
    expect(error).toBeInstanceOf(ApiError);
  });

  it('explains a refused connection with what to check, exit 1', async () => {
    const error = await failure(new ApiClient({ settings, fetch: failing(socketError('ECONNREFUSED')) }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(errorLine(error)).toBe(
      'slipway: cannot reach http://127.0.0.1:3000: connection refused (is the control plane running? the URL comes from SLIPWAY_URL)',
    );
    expect(exitCodeOf(error)).toBe(1);
  });

  it.each([
    ['ENOTFOUND', 'host not found (ENOTFOUND; check the URL from --url)'],
    ['ECONNRESET', 'the connection was closed before an answer came'],
    ['UND_ERR_CONNECT_TIMEOUT', 'connection timed out (is the host of the URL from --url reachable from here?)'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'the TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)'],
  ])('explains %s', (code, reason) => {
    expect(networkReason(socketError(code), '--url', 30_000)).toBe(reason);
  });

  it('explains a request that got no answer in time', async () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const error = await failure(new ApiClient({ settings, fetch: failing(timeout), timeoutMs: 5_000 }));
    expect(errorLine(error)).toBe('slipway: cannot reach http://127.0.0.1:3000: no answer within 5 s (timed out)');
  });

  it('points a usage error at the help, and a setup error at nothing', () => {
    expect(errorLine(new UsageError('give --tag or --digest', 'deploy'))).toBe(
      'slipway: give --tag or --digest; see slipway deploy --help',
    );
    expect(errorLine(new SetupError('no API token: set SLIPWAY_TOKEN'))).toBe(
      'slipway: no API token: set SLIPWAY_TOKEN',
    );
    expect(exitCodeOf(new SetupError('x'))).toBe(2);
  });

  it('never prints a token, whatever quotes it', () => {
    const error = new ApiError(400, 'header authorization: Bearer slw_secret-token-1 is malformed');
    expect(errorLine(error, [settings.token])).toBe(
      'slipway: 400 Bad Request: header authorization: Bearer *** is malformed',
    );
    expect(errorLine(new Error('token slw_abcdef12345 refused'))).toBe(
      'slipway: unexpected error: token slw_*** refused',
    );
  });
});

describe('the request', () => {
  it('sends JSON with the bearer token to the path under the base URL', async () => {
    // Given a control plane behind a path prefix
    const { fake, seen } = answering(202, JSON.stringify({ deployment: { id: 'dep-1' } }));
    const client = new ApiClient({ settings: { ...settings, url: 'https://slipway.example.com/api' }, fetch: fake });

    // When a request with a body and a query is sent
    const body = await client.send({
      method: 'POST',
      path: '/v1/deployments',
      query: { dry: 'a b' },
      body: { app: 'shop' },
    });

    // Then it went where and as expected, and its answer is parsed
    expect(body).toEqual({ deployment: { id: 'dep-1' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe('https://slipway.example.com/api/v1/deployments?dry=a+b');
    expect(seen[0]?.init).toMatchObject({
      method: 'POST',
      body: '{"app":"shop"}',
      headers: {
        accept: 'application/json',
        authorization: 'Bearer slw_secret-token-1',
        'content-type': 'application/json',
      },
    });
    expect(seen[0]?.init.signal).toBeInstanceOf(AbortSignal);
  });
});
