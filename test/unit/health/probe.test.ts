import { Metrics } from '@aws-lambda-powertools/metrics';
import { jest } from '@jest/globals';
import { configSchema } from '../../../lib/config/schema';
import {
  daysRemaining,
  jsonProblem,
  type ProbeResult,
  type ProbeTarget,
  probeAll,
  probeTargets,
  statusProblem,
  valueAtPath,
} from '../../../lib/health/probe';
import { publishProbeMetrics } from '../../../lib/health/probe-metrics';

describe('valueAtPath', () => {
  const document = { status: 'ok', checks: { db: { status: 'healthy' } }, items: [{ ok: true }, { ok: false }] };

  it.each([
    ['status', 'ok'],
    ['checks.db.status', 'healthy'],
    ['items.0.ok', true],
    ['items.1.ok', false],
    ['checks.db', { status: 'healthy' }],
  ])('finds %s', (path, value) => {
    expect(valueAtPath(document, path)).toEqual({ found: true, value });
  });

  it.each([
    'missing',
    'checks.cache.status',
    'items.2.ok',
    'items.first.ok',
    'status.length',
    'checks.db.status.deeper',
    'toString',
  ])('finds nothing at %s', (path) => {
    expect(valueAtPath(document, path)).toEqual({ found: false });
  });

  it('finds null as a value, not as nothing', () => {
    expect(valueAtPath({ error: null }, 'error')).toEqual({ found: true, value: null });
  });
});

describe('jsonProblem', () => {
  it('passes when the value at the path strictly equals', () => {
    expect(jsonProblem('{"checks":{"db":{"status":"healthy"}}}', { path: 'checks.db.status', equals: 'healthy' })).toBe(
      undefined,
    );
    expect(jsonProblem('{"up":true}', { path: 'up', equals: true })).toBe(undefined);
  });

  it('names the path, the expected and the received value', () => {
    expect(jsonProblem('{"status":"degraded"}', { path: 'status', equals: 'healthy' })).toBe(
      'expected status to equal "healthy", received "degraded"',
    );
    expect(jsonProblem('{"count":"1"}', { path: 'count', equals: 1 })).toBe('expected count to equal 1, received "1"');
    expect(jsonProblem('{"other":1}', { path: 'status', equals: null })).toBe(
      'expected status to equal null, received nothing',
    );
  });

  it('keeps a received value short', () => {
    const long = 'x'.repeat(100);
    expect(jsonProblem(JSON.stringify({ status: long }), { path: 'status', equals: 'ok' })).toBe(
      `expected status to equal "ok", received "${'x'.repeat(56)}...`,
    );
  });

  it('says a body that does not parse is not JSON', () => {
    expect(jsonProblem('<html>OK</html>', { path: 'status', equals: 'healthy' })).toBe('body is not JSON');
    expect(jsonProblem('', { path: 'status', equals: 'healthy' })).toBe('body is not JSON');
  });
});

describe('statusProblem', () => {
  const anyTwoHundred = { expectStatus: undefined, followRedirects: false };

  it.each([200, 201, 204, 299])('accepts %d when no status is expected', (status) => {
    expect(statusProblem(status, anyTwoHundred)).toBe(undefined);
  });

  it.each([
    [500, undefined, 'status 500, expected 2xx'],
    [199, undefined, 'status 199, expected 2xx'],
    [404, undefined, 'status 404, expected 2xx'],
    [301, '/elsewhere', 'status 301, expected 2xx (redirects are not followed)'],
    [308, 'https://example.com/', 'status 308, expected 2xx (redirects are not followed)'],
    [302, undefined, 'status 302, expected 2xx'],
    [304, '/elsewhere', 'status 304, expected 2xx'],
  ])('refuses %d (Location %s) with "%s"', (status, location, reason) => {
    expect(statusProblem(status, anyTwoHundred, location)).toBe(reason);
  });

  it('wants expectStatus exactly', () => {
    expect(statusProblem(204, { expectStatus: 204, followRedirects: false })).toBe(undefined);
    expect(statusProblem(200, { expectStatus: 204, followRedirects: false })).toBe('status 200, expected 204');
    expect(statusProblem(301, { expectStatus: 301, followRedirects: false }, '/elsewhere')).toBe(undefined);
  });

  it('does not blame redirects when they are followed (the redirect limit was reached)', () => {
    expect(statusProblem(301, { expectStatus: undefined, followRedirects: true }, '/again')).toBe(
      'status 301, expected 2xx',
    );
  });
});

describe('daysRemaining', () => {
  const now = new Date('2026-03-01T12:00:00Z');

  it.each([
    ['Mar 11 12:00:00 2026 GMT', 10],
    ['Mar 11 11:59:59 2026 GMT', 9],
    ['Mar  1 12:00:00 2026 GMT', 0],
    ['Mar  1 11:59:59 2026 GMT', -1],
    ['Feb 20 12:00:00 2026 GMT', -9],
    ['Mar  1 12:00:00 2027 GMT', 365],
  ])('from %s is %d', (validTo, days) => {
    expect(daysRemaining(validTo, now)).toBe(days);
  });

  it('is unknown when the date does not parse', () => {
    expect(daysRemaining('not a date', now)).toBe(undefined);
  });
});

describe('probeTargets', () => {
  it("names every environment's production checks as the alarms do, by name or else by position", () => {
    // Given two apps, one environment without checks
    const config = configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      apps: {
        shop: {
          repository: 'shop',
          containers: ['web'],
          environments: {
            staging: {
              cluster: 'c',
              service: 's',
              health: [
                { url: 'https://staging.shop.example:8443/health', stage: 'test' },
                { url: 'https://staging.shop.example/health' },
                { name: 'db', url: 'https://staging.shop.example/db' },
              ],
            },
            production: { cluster: 'c', service: 'p' },
          },
        },
        blog: {
          repository: 'blog',
          containers: ['web'],
          environments: { live: { cluster: 'c', service: 'b', health: [{ url: 'http://blog.example/' }] } },
        },
      },
    });

    // When the targets are listed
    const targets = probeTargets(config);

    // Then each production check is there once, with its Check dimension, numbered among production checks;
    // the test listener's check is left to the lifecycle hook
    expect(targets.map(({ app, environment, checkName, check }) => [app, environment, checkName, check.url])).toEqual([
      ['shop', 'staging', 'check-1', 'https://staging.shop.example/health'],
      ['shop', 'staging', 'db', 'https://staging.shop.example/db'],
      ['blog', 'live', 'check-1', 'http://blog.example/'],
    ]);
    expect(targets[0]?.check).toEqual({
      url: 'https://staging.shop.example/health',
      timeoutMs: 5_000,
      followRedirects: false,
      allowUntrustedCertificate: false,
      stage: 'production',
    });
  });
});

describe('probeAll', () => {
  it('turns a probe that throws into a failed result in its place, and runs the others', async () => {
    // Given a target whose check is missing (a bug upstream), and one that fails without I/O
    const broken = { app: 'shop', environment: 'staging', checkName: 'broken' } as unknown as ProbeTarget;
    const unreadable: ProbeTarget = {
      app: 'shop',
      environment: 'staging',
      checkName: 'secret',
      check: {
        url: 'http://127.0.0.1:9/',
        timeoutMs: 1_000,
        followRedirects: false,
        allowUntrustedCertificate: false,
        headers: { authorization: { fromSecret: 'shop/probe-token' } },
      },
    };

    // When both are probed
    const results = await probeAll([broken, unreadable], { concurrency: 1 });

    // Then each has a failed result, in target order
    expect(results).toEqual([
      {
        app: 'shop',
        environment: 'staging',
        check: 'broken',
        url: '',
        ok: false,
        reason: 'probe failed unexpectedly (TypeError)',
      },
      {
        app: 'shop',
        environment: 'staging',
        check: 'secret',
        url: 'http://127.0.0.1:9/',
        ok: false,
        reason: 'header authorization comes from secret shop/probe-token, and no secret reader was given',
      },
    ]);
  });

  it('says which header could not be read, without a value', async () => {
    const target: ProbeTarget = {
      app: 'shop',
      environment: 'staging',
      checkName: 'secret',
      check: {
        url: 'http://127.0.0.1:9/',
        timeoutMs: 1_000,
        followRedirects: false,
        allowUntrustedCertificate: false,
        headers: { 'x-api-key': { fromSecret: 'shop/probe-token', key: 'apiKey' } },
      },
    };
    const resolveHeader = jest.fn(async () => {
      throw new Error('secret shop/probe-token key apiKey has no string value');
    });

    const [result] = await probeAll([target], { concurrency: 4, resolveHeader });

    expect(resolveHeader).toHaveBeenCalledWith({ fromSecret: 'shop/probe-token', key: 'apiKey' });
    expect(result).toEqual({
      app: 'shop',
      environment: 'staging',
      check: 'secret',
      url: 'http://127.0.0.1:9/',
      ok: false,
      reason: 'header x-api-key: secret shop/probe-token key apiKey has no string value',
    });
  });

  it('bounds a secret read that never answers by the check timeout', async () => {
    const target: ProbeTarget = {
      app: 'shop',
      environment: 'staging',
      checkName: 'secret',
      check: {
        url: 'http://127.0.0.1:9/',
        timeoutMs: 100,
        followRedirects: false,
        allowUntrustedCertificate: false,
        headers: { authorization: { fromSecret: 'shop/probe-token' } },
      },
    };

    const started = performance.now();
    const [result] = await probeAll([target], { concurrency: 1, resolveHeader: () => new Promise<string>(() => {}) });

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result).toEqual({
      app: 'shop',
      environment: 'staging',
      check: 'secret',
      url: 'http://127.0.0.1:9/',
      ok: false,
      reason: 'timed out after 100 ms',
    });
  });
});

/** The EMF documents a Metrics instance writes while `act` runs (Powertools writes them to stdout). */
function captureEmf(act: (metrics: Metrics) => void): unknown[] {
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  // test/support/env.ts disables metrics for every test; each singleMetric() reads it when it is made.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    act(new Metrics({ namespace: 'Slipway', serviceName: 'slipway' }));
  } finally {
    write.mockRestore();
    process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

const emf = (dimensions: Record<string, string>, name: string, unit: string, value: number) => ({
  _aws: {
    Timestamp: expect.any(Number),
    CloudWatchMetrics: [
      { Namespace: 'Slipway', Dimensions: [['App', 'Environment', 'Check']], Metrics: [{ Name: name, Unit: unit }] },
    ],
  },
  ...dimensions,
  [name]: value,
});

describe('publishProbeMetrics', () => {
  it('writes Availability, LatencyMs and CertDaysRemaining per check, with exactly the dimensions the alarms select', () => {
    // Given a passing https check, a failing http check and one that never sent a request
    const results: ProbeResult[] = [
      {
        app: 'shop',
        environment: 'production',
        check: 'api',
        url: 'https://shop.example/health',
        ok: true,
        status: 200,
        latencyMs: 42,
        certDaysRemaining: 30,
      },
      {
        app: 'shop',
        environment: 'staging',
        check: 'check-1',
        url: 'http://staging.shop.example/health',
        ok: false,
        status: 500,
        latencyMs: 7,
        reason: 'status 500, expected 2xx',
      },
      {
        app: 'blog',
        environment: 'live',
        check: 'db',
        url: 'http://blog.example/db',
        ok: false,
        reason: 'header authorization comes from secret blog/token, and no secret reader was given',
      },
    ];

    // When their metrics are published
    const documents = captureEmf((metrics) => publishProbeMetrics(results, metrics));

    // Then each metric is one document with the App, Environment and Check dimensions, and no service
    const production = { App: 'shop', Environment: 'production', Check: 'api' };
    const staging = { App: 'shop', Environment: 'staging', Check: 'check-1' };
    const live = { App: 'blog', Environment: 'live', Check: 'db' };
    expect(documents).toEqual([
      emf(production, 'Availability', 'Count', 1),
      emf(production, 'LatencyMs', 'Milliseconds', 42),
      emf(production, 'CertDaysRemaining', 'Count', 30),
      emf(staging, 'Availability', 'Count', 0),
      emf(staging, 'LatencyMs', 'Milliseconds', 7),
      emf(live, 'Availability', 'Count', 0),
    ]);
  });

  it('leaves the shared instance and its service dimension as they were', () => {
    const documents = captureEmf((metrics) => {
      publishProbeMetrics(
        [{ app: 'shop', environment: 'staging', check: 'api', url: 'http://x/', ok: true, latencyMs: 1 }],
        metrics,
      );
      metrics.addMetric('ProbeRuns', 'Count', 1);
      metrics.publishStoredMetrics();
    });

    expect(documents.at(-1)).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          { Namespace: 'Slipway', Dimensions: [['service']], Metrics: [{ Name: 'ProbeRuns', Unit: 'Count' }] },
        ],
      },
      service: 'slipway',
      ProbeRuns: 1,
    });
  });
});
