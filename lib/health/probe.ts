import { type ClientRequest, type IncomingHttpHeaders, request } from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { HealthCheckConfig, SlipwayConfig } from '../config/schema';
import { namedChecks } from './alarms';
import type { CheckResult } from './records';

/**
 * The probe engine: one GET per health check, answered within the check's own timeout,
 * judged on status, JSON body and certificate. Results are data; nothing here throws at
 * the caller, so a broken check is a failed check and never a failed run.
 */

export interface ProbeTarget {
  app: string;
  environment: string;
  /** Which listener it reaches decides who probes it, not how. */
  check: Omit<HealthCheckConfig, 'stage'>;
  checkName: string;
}

/** A check's result, with the environment it belongs to. */
export interface ProbeResult extends CheckResult {
  app: string;
  environment: string;
}

export interface SecretHeader {
  fromSecret: string;
  key?: string;
}

export interface ProbeOptions {
  concurrency: number;
  resolveHeader?: (value: SecretHeader) => Promise<string>;
  now?: () => Date;
}

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DAY_MS = 86_400_000;
const USER_AGENT = 'slipway-probe/1';

/** Every environment's production checks (test ones are the lifecycle hook's), named as the alarms name them. */
export function probeTargets(config: SlipwayConfig): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  for (const [app, appConfig] of Object.entries(config.apps)) {
    for (const [environment, env] of Object.entries(appConfig.environments)) {
      for (const { check, checkName } of namedChecks(env)) targets.push({ app, environment, check, checkName });
    }
  }
  return targets;
}

/** The value at a dotted path (`checks.db.status`, `items.0.ok`), or found: false. */
export function valueAtPath(document: unknown, path: string): { found: true; value: unknown } | { found: false } {
  let current: unknown = document;
  for (const segment of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(segment) && Number(segment) < current.length) {
      current = current[Number(segment)];
    } else if (
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current) &&
      Object.hasOwn(current, segment)
    ) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Why the body fails `expectJson`, or undefined when it passes. */
export function jsonProblem(
  body: string,
  expectation: NonNullable<HealthCheckConfig['expectJson']>,
): string | undefined {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  const found = valueAtPath(document, expectation.path);
  const expected = `expected ${expectation.path} to equal ${JSON.stringify(expectation.equals)}`;
  if (!found.found) return `${expected}, received nothing`;
  return found.value === expectation.equals ? undefined : `${expected}, received ${describeValue(found.value)}`;
}

export const isRedirect = (status: number, location: string | undefined) =>
  REDIRECT_STATUSES.has(status) && Boolean(location);

/** Why the status fails the check, or undefined: `expectStatus` exactly, else any 2xx. */
export function statusProblem(
  status: number,
  check: Pick<HealthCheckConfig, 'expectStatus' | 'followRedirects'>,
  location?: string,
): string | undefined {
  if (check.expectStatus !== undefined) {
    return status === check.expectStatus ? undefined : `status ${status}, expected ${check.expectStatus}`;
  }
  if (status >= 200 && status < 300) return undefined;
  const unfollowed = !check.followRedirects && isRedirect(status, location);
  return `status ${status}, expected 2xx${unfollowed ? ' (redirects are not followed)' : ''}`;
}

/** Whole days from `now` until a certificate's `valid_to` (floored, negative once expired). */
export function daysRemaining(validTo: string, now: Date): number | undefined {
  const expires = Date.parse(validTo);
  return Number.isNaN(expires) ? undefined : Math.floor((expires - now.getTime()) / DAY_MS);
}

/** A failure with the one-line reason the result carries; it never leaves this module. */
class ProbeFailure extends Error {
  override name = 'ProbeFailure';
}

const oneLine = (text: string) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
};

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed while sending',
  // Node's message for these quotes the header value, which may be a secret.
  ERR_HTTP_INVALID_HEADER_VALUE: 'a header value cannot be sent',
  ERR_INVALID_CHAR: 'a header value cannot be sent',
};

/** The code only: messages of some request errors quote header values. */
function networkFailure(error: unknown): ProbeFailure {
  if (error instanceof ProbeFailure) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string')
    return new ProbeFailure(`request failed (${(error as Error | undefined)?.name ?? 'unknown error'})`);
  const known = NETWORK_REASONS[code];
  if (known) return new ProbeFailure(`${known} (${code})`);
  if (code.startsWith('HPE_')) return new ProbeFailure(`response is not valid HTTP (${code})`);
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO') return new ProbeFailure(`TLS handshake failed (${code})`);
  return new ProbeFailure(`request failed (${code})`);
}

/** One timer per probe: it bounds header resolution, connect, headers and body, and destroys what is open. */
class Deadline {
  private readonly sockets = new Set<Socket>();
  private readonly timer: NodeJS.Timeout;
  private readonly expired: Promise<never>;

  constructor(timeoutMs: number) {
    let expire: (failure: ProbeFailure) => void = () => undefined;
    this.expired = new Promise<never>((_, reject) => {
      expire = reject;
    });
    this.expired.catch(() => undefined);
    this.timer = setTimeout(() => {
      this.release();
      expire(new ProbeFailure(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  }

  race<T>(work: Promise<T>): Promise<T> {
    // The losing side still settles later (a destroyed socket's error); it must not be unhandled.
    work.catch(() => undefined);
    return Promise.race([work, this.expired]);
  }

  track(socket: Socket): void {
    this.sockets.add(socket);
  }

  release(): void {
    clearTimeout(this.timer);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

interface Connection {
  socket: Socket;
  tls?: { trusted: boolean; authorizationError: string; daysRemaining: number | undefined };
}

const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

function describeAuthorizationError(error: unknown): string {
  if (typeof error === 'string') return error;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return String(code ?? message ?? 'unknown reason');
}

/**
 * TCP, or TLS with `rejectUnauthorized: false` so the certificate can always be read. The
 * trust decision is taken here, before any HTTP byte is written: a peer that does not verify
 * never sees the request, nor the secret headers it may carry.
 */
function connect(url: URL, deadline: Deadline, now: () => Date): Promise<Connection> {
  const host = bareHost(url);
  const secure = url.protocol === 'https:';
  const port = Number(url.port) || (secure ? 443 : 80);
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tlsConnect({
          host,
          port,
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
          // SNI carries host names only (RFC 6066).
          ...(isIP(host) ? {} : { servername: host }),
        })
      : netConnect({ host, port });
    deadline.track(socket);
    // Stays attached for the socket's life: an error after the request took over still has a listener.
    socket.on('error', (error) => reject(networkFailure(error)));
    if (!secure) {
      socket.once('connect', () => resolve({ socket }));
      return;
    }
    const tlsSocket = socket as TLSSocket;
    tlsSocket.once('secureConnect', () => {
      const validTo = tlsSocket.getPeerCertificate()?.valid_to;
      resolve({
        socket,
        tls: {
          trusted: tlsSocket.authorized,
          authorizationError: describeAuthorizationError(tlsSocket.authorizationError),
          daysRemaining: validTo ? daysRemaining(validTo, now()) : undefined,
        },
      });
    });
  });
}

interface Answer {
  status: number;
  location: string | undefined;
  body: Buffer;
  truncated: boolean;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** One GET over an open connection; the body is read up to MAX_BODY_BYTES, then the connection is dropped. */
function exchange(url: URL, socket: Socket, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent: Record<string, string> = { ...headers };
    if (!hasHeader(sent, 'host')) sent.host = url.host;
    if (!hasHeader(sent, 'user-agent')) sent['user-agent'] = USER_AGENT;
    let outgoing: ClientRequest;
    try {
      // Without an agent the request is never pooled: the connection is ours and closes with the answer.
      outgoing = request({
        method: 'GET',
        host: bareHost(url),
        path: `${url.pathname}${url.search}`,
        headers: sent,
        createConnection: () => socket,
      });
    } catch (error) {
      // A header value HTTP cannot carry is refused here, before anything is sent.
      reject(networkFailure(error));
      return;
    }
    outgoing.on('error', (error) => reject(networkFailure(error)));
    outgoing.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const location = firstHeader(response.headers, 'location');
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = (truncated: boolean) => {
        resolve({ status, location, body: Buffer.concat(chunks, size), truncated });
        socket.destroy();
      };
      response.on('data', (chunk: Buffer) => {
        const room = MAX_BODY_BYTES - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size += room;
          finish(true);
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => finish(false));
      response.on('error', (error) => reject(networkFailure(error)));
    });
    outgoing.end();
  });
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function resolveHeaders(
  headers: HealthCheckConfig['headers'],
  resolveHeader: ProbeOptions['resolveHeader'],
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(headers ?? {}).map(async ([name, value]): Promise<[string, string]> => {
      if (typeof value === 'string') return [name, value];
      if (!resolveHeader) {
        throw new ProbeFailure(`header ${name} comes from secret ${value.fromSecret}, and no secret reader was given`);
      }
      try {
        return [name, await resolveHeader(value)];
      } catch (error) {
        throw new ProbeFailure(`header ${name}: ${oneLine((error as Error | undefined)?.message ?? String(error))}`);
      }
    }),
  );
  return Object.fromEntries(entries);
}

function nextLocation(from: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new ProbeFailure('redirect to an invalid location');
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new ProbeFailure(`redirect to an unsupported protocol (${next.protocol})`);
  }
  return next;
}

/** One check, one result; every failure becomes `ok: false` with its reason. */
export async function probeOne(target: ProbeTarget, options: ProbeOptions): Promise<ProbeResult> {
  const { check } = target;
  const base = { app: target.app, environment: target.environment, check: target.checkName, url: check.url };
  const now = options.now ?? (() => new Date());
  const deadline = new Deadline(check.timeoutMs);
  let started: number | undefined;
  let status: number | undefined;
  let certDaysRemaining: number | undefined;
  const measured = () => ({
    ...(status === undefined ? {} : { status }),
    ...(started === undefined ? {} : { latencyMs: Math.round(performance.now() - started) }),
    ...(certDaysRemaining === undefined ? {} : { certDaysRemaining }),
  });
  try {
    const headers = await deadline.race(resolveHeaders(check.headers, options.resolveHeader));
    const origin = new URL(check.url);
    let url = origin;
    started = performance.now();
    for (let redirects = 0; ; redirects++) {
      const connection = await deadline.race(connect(url, deadline, now));
      if (connection.tls) {
        const days = connection.tls.daysRemaining;
        // Any certificate on the way expiring breaks the check: report the soonest.
        if (days !== undefined) certDaysRemaining = Math.min(days, certDaysRemaining ?? days);
        if (!connection.tls.trusted && !check.allowUntrustedCertificate) {
          throw new ProbeFailure(`certificate not trusted: ${connection.tls.authorizationError}`);
        }
      }
      // Configured headers (secrets among them) go to the check's own origin only, as fetch does with credentials.
      const answer = await deadline.race(exchange(url, connection.socket, url.origin === origin.origin ? headers : {}));
      status = answer.status;
      if (check.followRedirects && isRedirect(answer.status, answer.location)) {
        if (redirects === MAX_REDIRECTS) throw new ProbeFailure(`more than ${MAX_REDIRECTS} redirects`);
        url = nextLocation(url, answer.location as string);
        continue;
      }
      const problem =
        statusProblem(answer.status, check, answer.location) ??
        (check.expectJson === undefined
          ? undefined
          : answer.truncated
            ? `body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`
            : jsonProblem(answer.body.toString('utf8'), check.expectJson));
      return {
        ...base,
        ok: problem === undefined,
        ...measured(),
        ...(problem === undefined ? {} : { reason: problem }),
      };
    }
  } catch (error) {
    const reason =
      error instanceof ProbeFailure
        ? error.message
        : `probe failed unexpectedly (${(error as Error)?.name ?? 'error'})`;
    return { ...base, ok: false, ...measured(), reason };
  } finally {
    deadline.release();
  }
}

/**
 * Every target, at most `concurrency` at a time, results in target order. Each probe is bounded
 * by its own timeout, so a slow target holds one slot and never the others; nothing throws.
 */
export async function probeAll(targets: ProbeTarget[], options: ProbeOptions): Promise<ProbeResult[]> {
  const results = new Array<ProbeResult>(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const index = next++;
      const target = targets[index] as ProbeTarget;
      results[index] = await probeOne(target, options).catch((error: unknown) => ({
        app: target?.app,
        environment: target?.environment,
        check: target?.checkName,
        url: target?.check?.url ?? '',
        ok: false,
        reason: `probe failed unexpectedly (${(error as Error | undefined)?.name ?? 'error'})`,
      }));
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(options.concurrency) || 1, targets.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
