import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { jest } from '@jest/globals';
import type { HealthCheckConfig } from '../../lib/config/schema';
import { type ProbeOptions, type ProbeTarget, probeAll, probeOne } from '../../lib/health/probe';
import { publishProbeMetrics } from '../../lib/health/probe-metrics';
import { selfSignedCertificate } from '../support/tls';

const SECRET_VALUE = 'Bearer s3cr3t-probe-token-value';
const DAY_MS = 86_400_000;

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  /** The SNI name an https request arrived with, false without one. */
  servername?: string | false | null;
}

let dir: string;
let app: Server;
let other: Server;
let secure: Server;
let appUrl: string;
let otherUrl: string;
let secureUrl: string;
let refusedUrl: string;
let stalled: NetServer;
let stalledUrl: string;
const stalledSockets = new Set<Socket>();
let now: Date;
let expectedCertDays: number;
const seen: Seen[] = [];
const secureSeen: Seen[] = [];
const otherSeen: Seen[] = [];
let inFlight = 0;
let mostInFlight = 0;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const routes: Record<string, RequestListener> = {
  '/healthy': (_, res) => json(res, 200, { status: 'healthy' }),
  '/slow': (_, res) => {
    const timer = setTimeout(() => json(res, 200, { status: 'healthy' }), 2_000);
    res.on('close', () => clearTimeout(timer));
  },
  '/wait': (_, res) => {
    const timer = setTimeout(() => json(res, 200, { status: 'healthy' }), 100);
    res.on('close', () => clearTimeout(timer));
  },
  '/error': (_, res) => json(res, 500, { status: 'down', detail: 'stack trace the probe must not repeat' }),
  '/degraded': (_, res) => json(res, 200, { status: 'degraded' }),
  '/text': (_, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('OK'),
  '/moved': (_, res) => res.writeHead(301, { location: '/healthy' }).end(),
  '/loop': (_, res) => res.writeHead(302, { location: '/loop' }).end(),
  '/away': (_, res) => res.writeHead(307, { location: `${otherUrl}/healthy` }).end(),
  '/big': (_, res) => json(res, 200, { status: 'healthy', padding: 'x'.repeat(2 * 1024 * 1024) }),
};

function recording(into: Seen[]): RequestListener {
  return (req, res) => {
    const { servername } = req.socket as TLSSocket;
    into.push({ path: req.url ?? '', headers: req.headers, ...(servername === undefined ? {} : { servername }) });
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    res.on('close', () => {
      inFlight -= 1;
    });
    const route = routes[req.url ?? ''];
    if (route) route(req, res);
    else res.writeHead(404).end();
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-probes-'));
  const { key, cert } = selfSignedCertificate(dir, { days: 10 });
  now = new Date();
  expectedCertDays = Math.floor((Date.parse(new X509Certificate(cert).validTo) - now.getTime()) / DAY_MS);

  app = createServer(recording(seen));
  other = createServer(recording(otherSeen));
  secure = createHttpsServer({ key, cert }, recording(secureSeen));
  appUrl = `http://127.0.0.1:${await listen(app)}`;
  otherUrl = `http://127.0.0.1:${await listen(other)}`;
  secureUrl = `https://127.0.0.1:${await listen(secure)}`;
  // Accepts TCP and never says a word: a TLS handshake that does not finish.
  stalled = createNetServer((socket) => {
    stalledSockets.add(socket);
    socket.on('close', () => stalledSockets.delete(socket));
  });
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  stalledUrl = `https://127.0.0.1:${(stalled.address() as AddressInfo).port}/healthy`;
  const closed = createServer();
  refusedUrl = `http://127.0.0.1:${await listen(closed)}/healthy`;
  await close(closed);
});

afterAll(async () => {
  for (const socket of stalledSockets) socket.destroy();
  await Promise.all([
    close(app),
    close(other),
    close(secure),
    new Promise<void>((resolve) => stalled.close(() => resolve())),
  ]);
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen.length = 0;
  secureSeen.length = 0;
  otherSeen.length = 0;
  mostInFlight = 0;
});

const resolveHeader = jest.fn(async () => SECRET_VALUE);
const options = (): ProbeOptions => ({ concurrency: 4, resolveHeader, now: () => now });

function target(checkName: string, check: Partial<HealthCheckConfig> & { url: string }): ProbeTarget {
  return {
    app: 'shop',
    environment: 'staging',
    checkName,
    check: { timeoutMs: 5_000, followRedirects: false, allowUntrustedCertificate: false, ...check },
  };
}

const healthyJson = { path: 'status', equals: 'healthy' };
const base = (check: string, url: string) => ({ app: 'shop', environment: 'staging', check, url });

describe('probeOne against local servers', () => {
  it('passes a healthy JSON answer, with its status and latency', async () => {
    // Given a server answering {"status":"healthy"}
    const url = `${appUrl}/healthy`;

    // When it is probed with a JSON expectation
    const result = await probeOne(target('api', { url, expectJson: healthyJson }), options());

    // Then it passes
    expect(result).toEqual({ ...base('api', url), ok: true, status: 200, latencyMs: expect.any(Number) });
    expect(seen.map(({ path, headers }) => [path, headers['user-agent'], headers.connection])).toEqual([
      ['/healthy', 'slipway-probe/1', 'close'],
    ]);
  });

  it('fails a server slower than the timeout at the timeout, without waiting for it', async () => {
    // Given a server that answers after 2 s
    const url = `${appUrl}/slow`;
    const started = performance.now();

    // When it is probed with a 300 ms timeout
    const result = await probeOne(target('slow', { url, timeoutMs: 300 }), options());

    // Then it fails after about 300 ms
    const elapsed = performance.now() - started;
    expect(result).toEqual({
      ...base('slow', url),
      ok: false,
      latencyMs: expect.any(Number),
      reason: 'timed out after 300 ms',
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_000);
  });

  it('fails a 500 with its status, never its body', async () => {
    const url = `${appUrl}/error`;
    const result = await probeOne(target('api', { url }), options());
    expect(result).toEqual({
      ...base('api', url),
      ok: false,
      status: 500,
      latencyMs: expect.any(Number),
      reason: 'status 500, expected 2xx',
    });
  });

  it('passes a status it was told to expect', async () => {
    const url = `${appUrl}/error`;
    const result = await probeOne(target('api', { url, expectStatus: 500 }), options());
    expect(result).toEqual({ ...base('api', url), ok: true, status: 500, latencyMs: expect.any(Number) });
  });

  it('fails JSON whose value differs, naming both values', async () => {
    const url = `${appUrl}/degraded`;
    const result = await probeOne(target('api', { url, expectJson: healthyJson }), options());
    expect(result).toEqual({
      ...base('api', url),
      ok: false,
      status: 200,
      latencyMs: expect.any(Number),
      reason: 'expected status to equal "healthy", received "degraded"',
    });
  });

  it('fails a body that is not JSON when JSON is expected, and passes it when not', async () => {
    const url = `${appUrl}/text`;
    const [asJson, asAnything] = await Promise.all([
      probeOne(target('api', { url, expectJson: healthyJson }), options()),
      probeOne(target('api', { url }), options()),
    ]);
    expect(asJson).toEqual({
      ...base('api', url),
      ok: false,
      status: 200,
      latencyMs: expect.any(Number),
      reason: 'body is not JSON',
    });
    expect(asAnything).toEqual({ ...base('api', url), ok: true, status: 200, latencyMs: expect.any(Number) });
  });

  it('reads at most 1 MiB of body: a larger JSON answer cannot be checked', async () => {
    const url = `${appUrl}/big`;
    const result = await probeOne(target('api', { url, expectJson: healthyJson }), options());
    expect(result).toEqual({
      ...base('api', url),
      ok: false,
      status: 200,
      latencyMs: expect.any(Number),
      reason: 'body is larger than 1 MiB',
    });
  });

  it('fails a refused connection with its code', async () => {
    const result = await probeOne(target('api', { url: refusedUrl }), options());
    expect(result).toEqual({
      ...base('api', refusedUrl),
      ok: false,
      latencyMs: expect.any(Number),
      reason: 'connection refused (ECONNREFUSED)',
    });
  });

  it('does not follow a 301 unless told to, then follows it to the healthy page', async () => {
    // Given a page moved to /healthy
    const url = `${appUrl}/moved`;

    // When it is probed without and with followRedirects
    const unfollowed = await probeOne(target('api', { url }), options());
    const followed = await probeOne(target('api', { url, followRedirects: true, expectJson: healthyJson }), options());

    // Then the 301 is the answer the first time, and the page it points to the second
    expect(unfollowed).toEqual({
      ...base('api', url),
      ok: false,
      status: 301,
      latencyMs: expect.any(Number),
      reason: 'status 301, expected 2xx (redirects are not followed)',
    });
    expect(followed).toEqual({ ...base('api', url), ok: true, status: 200, latencyMs: expect.any(Number) });
    expect(seen.map(({ path }) => path)).toEqual(['/moved', '/moved', '/healthy']);
  });

  it('gives up after 5 redirects', async () => {
    const url = `${appUrl}/loop`;
    const result = await probeOne(target('api', { url, followRedirects: true }), options());
    expect(result).toEqual({
      ...base('api', url),
      ok: false,
      status: 302,
      latencyMs: expect.any(Number),
      reason: 'more than 5 redirects',
    });
    expect(seen).toHaveLength(6);
  });

  it('fails a self-signed certificate before sending anything, and still reports its expiry', async () => {
    // Given an https server with a self-signed certificate valid for 10 days
    const url = `${secureUrl}/healthy`;

    // When it is probed with a secret header
    const result = await probeOne(
      target('tls', { url, headers: { authorization: { fromSecret: 'shop/probe-token' } } }),
      options(),
    );

    // Then it fails on trust, reports the days left, and the server never saw the request
    expect(result).toEqual({
      ...base('tls', url),
      ok: false,
      latencyMs: expect.any(Number),
      certDaysRemaining: expectedCertDays,
      reason: 'certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect([9, 10]).toContain(expectedCertDays);
    expect(secureSeen).toEqual([]);
  });

  it('fails a TLS handshake that never finishes at the timeout', async () => {
    const started = performance.now();
    const result = await probeOne(target('tls', { url: stalledUrl, timeoutMs: 300 }), options());
    expect(result).toEqual({
      ...base('tls', stalledUrl),
      ok: false,
      latencyMs: expect.any(Number),
      reason: 'timed out after 300 ms',
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  }, 5_000);

  it('names the host in SNI, and an IP address never', async () => {
    // Given the https server reached by name and by address
    const port = new URL(secureUrl).port;
    const byName = `https://localhost:${port}/healthy`;

    // When both are probed
    const results = await probeAll(
      [
        target('by-name', { url: byName, allowUntrustedCertificate: true }),
        target('by-address', { url: `${secureUrl}/healthy`, allowUntrustedCertificate: true }),
      ],
      { ...options(), concurrency: 1 },
    );

    // Then the server saw the host name, then no name
    expect(results.map(({ ok }) => ok)).toEqual([true, true]);
    expect(secureSeen.map(({ servername }) => servername)).toEqual(['localhost', false]);
  });

  it('passes a self-signed certificate when untrusted certificates are allowed', async () => {
    const url = `${secureUrl}/healthy`;
    const result = await probeOne(
      target('tls', { url, allowUntrustedCertificate: true, expectJson: healthyJson }),
      options(),
    );
    expect(result).toEqual({
      ...base('tls', url),
      ok: true,
      status: 200,
      latencyMs: expect.any(Number),
      certDaysRemaining: expectedCertDays,
    });
    expect(secureSeen.map(({ path }) => path)).toEqual(['/healthy']);
  });

  it('sends a header read from a secret, and never puts it in a result', async () => {
    // Given checks whose Authorization comes from Secrets Manager, one of them failing
    resolveHeader.mockClear();
    const headers = { authorization: { fromSecret: 'shop/probe-token' }, 'x-probe': 'plain' };

    // When they are probed
    const results = await probeAll(
      [target('ok', { url: `${appUrl}/healthy`, headers }), target('down', { url: `${appUrl}/error`, headers })],
      options(),
    );

    // Then the server saw the secret's value, and no result carries it
    expect(resolveHeader).toHaveBeenCalledWith({ fromSecret: 'shop/probe-token' });
    expect(seen.map(({ headers }) => [headers.authorization, headers['x-probe']])).toEqual([
      [SECRET_VALUE, 'plain'],
      [SECRET_VALUE, 'plain'],
    ]);
    expect(results.map(({ ok, reason }) => [ok, reason])).toEqual([
      [true, undefined],
      [false, 'status 500, expected 2xx'],
    ]);
    expect(JSON.stringify(results)).not.toContain('s3cr3t');
  });

  it('keeps configured headers for the check origin when a redirect leads elsewhere', async () => {
    const url = `${appUrl}/away`;
    const result = await probeOne(
      target('api', { url, followRedirects: true, headers: { authorization: { fromSecret: 'shop/probe-token' } } }),
      options(),
    );
    expect(result).toEqual({ ...base('api', url), ok: true, status: 200, latencyMs: expect.any(Number) });
    expect(seen.map(({ path, headers }) => [path, headers.authorization])).toEqual([['/away', SECRET_VALUE]]);
    expect(otherSeen.map(({ path, headers }) => [path, headers.authorization])).toEqual([['/healthy', undefined]]);
  });
});

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

describe('probeAll against local servers', () => {
  it('keeps exactly `concurrency` probes in flight until the targets run out', async () => {
    // Given eight targets answering after 100 ms
    const targets = Array.from({ length: 8 }, (_, index) => target(`wait-${index}`, { url: `${appUrl}/wait` }));

    // When they are probed three at a time
    const started = performance.now();
    const results = await probeAll(targets, { ...options(), concurrency: 3 });
    const elapsed = performance.now() - started;

    // Then three were in flight at most, and it took three rounds of 100 ms
    expect(results.map(({ check, ok }) => [check, ok])).toEqual(targets.map(({ checkName }) => [checkName, true]));
    expect(mostInFlight).toBe(3);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1_000);
  });

  it('runs every kind of target side by side, each within its own timeout, and writes their metrics', async () => {
    // Given ten targets, two of them slower than their 300 ms timeout (the timeouts add up to over 40 s)
    const targets = [
      target('healthy', { url: `${appUrl}/healthy`, expectJson: healthyJson }),
      target('slow-1', { url: `${appUrl}/slow`, timeoutMs: 300 }),
      target('error', { url: `${appUrl}/error` }),
      target('slow-2', { url: `${appUrl}/slow`, timeoutMs: 300 }),
      target('degraded', { url: `${appUrl}/degraded`, expectJson: healthyJson }),
      target('text', { url: `${appUrl}/text`, expectJson: healthyJson }),
      target('refused', { url: refusedUrl }),
      target('moved', { url: `${appUrl}/moved`, followRedirects: true }),
      target('untrusted', { url: `${secureUrl}/healthy` }),
      target('allowed', { url: `${secureUrl}/healthy`, allowUntrustedCertificate: true }),
    ];

    // When they are probed four at a time
    const started = performance.now();
    const results = await probeAll(targets, options());
    const elapsed = performance.now() - started;

    // Then the whole run takes about one timeout, never more than four requests were in flight,
    expect(elapsed).toBeLessThan(1_500);
    expect(mostInFlight).toBeLessThanOrEqual(4);
    // and each result is in its target's place
    const latency = expect.any(Number);
    expect(results).toEqual([
      { ...base('healthy', `${appUrl}/healthy`), ok: true, status: 200, latencyMs: latency },
      { ...base('slow-1', `${appUrl}/slow`), ok: false, latencyMs: latency, reason: 'timed out after 300 ms' },
      {
        ...base('error', `${appUrl}/error`),
        ok: false,
        status: 500,
        latencyMs: latency,
        reason: 'status 500, expected 2xx',
      },
      { ...base('slow-2', `${appUrl}/slow`), ok: false, latencyMs: latency, reason: 'timed out after 300 ms' },
      {
        ...base('degraded', `${appUrl}/degraded`),
        ok: false,
        status: 200,
        latencyMs: latency,
        reason: 'expected status to equal "healthy", received "degraded"',
      },
      { ...base('text', `${appUrl}/text`), ok: false, status: 200, latencyMs: latency, reason: 'body is not JSON' },
      { ...base('refused', refusedUrl), ok: false, latencyMs: latency, reason: 'connection refused (ECONNREFUSED)' },
      { ...base('moved', `${appUrl}/moved`), ok: true, status: 200, latencyMs: latency },
      {
        ...base('untrusted', `${secureUrl}/healthy`),
        ok: false,
        latencyMs: latency,
        certDaysRemaining: expectedCertDays,
        reason: 'certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT',
      },
      {
        ...base('allowed', `${secureUrl}/healthy`),
        ok: true,
        status: 200,
        latencyMs: latency,
        certDaysRemaining: expectedCertDays,
      },
    ]);

    // When the run's metrics are published
    const documents = captureEmf((metrics) => publishProbeMetrics(results, metrics));

    // Then each check has its Availability and LatencyMs, and the https ones their CertDaysRemaining
    const latencyOf = (check: string) => results.find((result) => result.check === check)?.latencyMs as number;
    const document = (check: string, name: string, unit: string, value: number) => ({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'Slipway',
            Dimensions: [['App', 'Environment', 'Check']],
            Metrics: [{ Name: name, Unit: unit }],
          },
        ],
      },
      App: 'shop',
      Environment: 'staging',
      Check: check,
      [name]: value,
    });
    const measured = (check: string, available: 0 | 1) => [
      document(check, 'Availability', 'Count', available),
      document(check, 'LatencyMs', 'Milliseconds', latencyOf(check)),
    ];
    expect(documents).toEqual([
      ...measured('healthy', 1),
      ...measured('slow-1', 0),
      ...measured('error', 0),
      ...measured('slow-2', 0),
      ...measured('degraded', 0),
      ...measured('text', 0),
      ...measured('refused', 0),
      ...measured('moved', 1),
      ...measured('untrusted', 0),
      document('untrusted', 'CertDaysRemaining', 'Count', expectedCertDays),
      ...measured('allowed', 1),
      document('allowed', 'CertDaysRemaining', 'Count', expectedCertDays),
    ]);
  });
});
