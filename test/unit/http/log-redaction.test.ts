import { format } from 'node:util';
import { httpEvent, lambdaContext, memoryTokenSource } from '../../support/http';

// An operator may turn on event logging in any stage; the event then carries the raw
// Authorization header and body. The logger reads both settings when it is built (and
// resets its level to the built one on every warm invocation), so import after.
process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
const { httpRoute } = await import('../../../lib/http/route-chain');
const { holdSecretValue, logger, REDACTED, redact, registerSecretValue } = await import('../../../lib/observability');
const z = await import('zod');

/** Everything written to stdout, stderr or the console while `act` runs; none of it reaches the terminal. */
async function captureOutput<T>(act: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const consoleMethods = methods.map((method) => console[method]);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof stream.write;
  }
  for (const method of methods) {
    console[method] = (...args: unknown[]) => {
      chunks.push(`${format(...args)}\n`);
    };
  }
  try {
    const result = await act();
    return { result, output: chunks.join('') };
  } finally {
    streams.forEach((stream, index) => {
      stream.write = writes[index] as typeof stream.write;
    });
    methods.forEach((method, index) => {
      console[method] = consoleMethods[index] as (typeof console)[typeof method];
    });
  }
}

const tokens = memoryTokenSource();
// A value read from Secrets Manager at run time, say a database password.
const databasePassword = 'pg-Hx7#kq2Lw9vR4tZ1';
registerSecretValue(databasePassword);

/** A route that logs, carelessly, everything it was sent. */
const chattyRoute = httpRoute(
  {
    name: 'chatty',
    access: 'deploy',
    scope: 'no-app',
    body: z.object({ note: z.string(), fail: z.boolean().optional() }),
  },
  { tokens: tokens.source },
  async (request) => {
    logger.info('received', { body: request.body, headers: request.headers });
    logger.debug(`raw note: ${request.body.note}`);
    if (request.body.fail) throw new Error(`could not use ${request.body.note}`);
    return { status: 200, body: { ok: true } };
  },
);

const request = (body: Record<string, unknown>, token = tokens.tokens.deployer) =>
  httpEvent('not-found', { method: 'POST', path: '/v1/chatty', routeKey: 'POST /v1/chatty', token, body });

describe('log redaction across a request', () => {
  it('writes neither the bearer token nor a registered secret, wherever they appear', async () => {
    // Given a request whose header carries a token and whose body quotes both the token and a secret
    const token = tokens.tokens.deployer;
    const event = request({ note: `password ${databasePassword}, token ${token}` });

    // When it is handled, with everything written captured
    const { result, output } = await captureOutput(() => chattyRoute(event, lambdaContext()));

    // Then it succeeded, logged plenty, and none of it holds either value
    expect(result.statusCode).toBe(200);
    expect(output).toContain('Lambda invocation event');
    expect(output).toContain('"message":"received"');
    expect(output).toContain('request handled');
    expect(output).toContain(REDACTED);
    expect(output).not.toContain(token);
    expect(output).not.toContain(databasePassword);
  });

  it('keeps them out of the log of a 500 whose error message quotes them', async () => {
    // Given a handler that fails with both values in its error message (and so in its stack)
    const token = tokens.tokens.admin;
    const event = request({ note: `${databasePassword} ${token}`, fail: true }, token);

    // When it is handled
    const { result, output } = await captureOutput(() => chattyRoute(event, lambdaContext()));

    // Then the failure is logged, redacted, and the response says nothing of it
    expect(result.statusCode).toBe(500);
    expect(output).toContain('request failed');
    expect(output).toContain(`could not use ${REDACTED} ${REDACTED}`);
    expect(output).not.toContain(token);
    expect(output).not.toContain(databasePassword);
    expect(result.body).not.toContain(token);
    expect(result.body).not.toContain(databasePassword);
  });

  it('keeps a token that is not valid out of the log of its 401', async () => {
    // Given a stranger's guess, quoted in the body as well
    const guess = 'slw_a-guess-that-matches-no-entry-0123456789';
    const event = request({ note: `try ${guess}` }, guess);

    // When it is refused
    const { result, output } = await captureOutput(() => chattyRoute(event, lambdaContext()));

    // Then the log records the refusal but not the guess
    expect(result.statusCode).toBe(401);
    expect(output).toContain('"status":401');
    expect(output).toContain(REDACTED);
    expect(output).not.toContain(guess);
    // and, the request over, the guess is no longer held
    expect(redact(`try ${guess}`)).toBe(`try ${guess}`);
  });

  it('redacts an unregistered value under a credential-like name, and a Bearer credential in free text', async () => {
    // Given a route that logs a password field and an upstream message quoting a header
    const route = httpRoute({ name: 'careless', access: 'public', scope: 'open' }, {}, async () => {
      logger.warn('upstream said no', {
        password: 'an-unregistered-password',
        upstream: 'request with Authorization: Bearer abc.def.ghi was rejected',
      });
      return { status: 204 };
    });

    // When it runs
    const { output } = await captureOutput(() => route(httpEvent('get-health'), lambdaContext()));

    // Then neither value is written
    expect(output).toContain('upstream said no');
    expect(output).toContain(`Bearer ${REDACTED}`);
    expect(output).not.toContain('an-unregistered-password');
    expect(output).not.toContain('abc.def.ghi');
  });

  it('redacts anything shaped like a Slipway token, even one that was never presented as a bearer', () => {
    // Given a token sent where it should not be, in a query string a logged event carries
    const token = `slw_${'A1b2_C3d-'.repeat(4)}a1b2c3d`;
    expect(token).toHaveLength(47);

    // Then the logged text keeps everything but the token
    expect(redact({ rawQueryString: `access_token=${token}&limit=5` })).toEqual({
      rawQueryString: `access_token=${REDACTED}&limit=5`,
    });
  });

  it('holds a presented value until every request holding it has been released', () => {
    const value = 'slw_presented-by-two-overlapping-requests';
    const first = holdSecretValue(value);
    const second = holdSecretValue(value);

    first();
    first();
    expect(redact(value)).toBe(REDACTED);

    second();
    expect(redact(value)).toBe(value);
  });
});
