import { createHash } from 'node:crypto';
import { InvalidInput, Unprocessable, UpstreamFailed } from '../errors';
import { type AddressKind, addressKind } from '../net/addresses';
import { BlockedAddress, guardedFetch, type Lookup, systemLookup } from '../net/guarded-fetch';

/**
 * Tag-to-digest resolution over the OCI Distribution API, for registries other than ECR.
 *
 * The registry chooses where Slipway goes next (a bearer challenge's realm, any redirect), so every
 * hop is checked before it is taken: https only (plain http only for a registry configured on http),
 * and no loopback, private or link-local address (169.254.169.254 is where cloud metadata lives)
 * unless the registry itself is at one of that kind. Redirects are followed by hand, at most five,
 * and a bearer token never follows one to another origin.
 */

// An image index before a single manifest: a multi-architecture tag must resolve to the digest of the whole index.
const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REPOSITORY = new RegExp(
  `^(${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?)/(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)$`,
);
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
// The OCI distribution spec's limit on a manifest; a larger answer is not a manifest, nor a token.
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NONE: ReadonlySet<AddressKind> = new Set();

export interface ResolveDigestOptions {
  /**
   * For tests: replaces the guarded connection, so that only the hops' URLs are checked (scheme, and
   * hosts that are IP literals); addresses names resolve to are checked by the default connection.
   */
  fetch?: typeof fetch;
  /** One deadline for the whole resolution, token exchange included. */
  timeoutMs?: number;
  scheme?: 'https' | 'http';
  /** For tests: the only CA the default connection trusts. */
  ca?: string | Buffer;
  /** For tests: name resolution of the default connection. */
  lookup?: Lookup;
}

/** Why a hop may not be taken, or undefined when it may. Pure: the registry's own address kinds are given. */
export function hopProblem(
  url: URL,
  registry: { scheme: 'https' | 'http'; kinds: ReadonlySet<AddressKind> },
): string | undefined {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && registry.scheme === 'http')) {
    return `it is not ${registry.scheme === 'http' ? 'http or https' : 'https'}`;
  }
  if (url.username || url.password) return 'it carries credentials';
  const kind = addressKind(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  return kind === undefined ? undefined : addressProblem(kind, registry.kinds);
}

/** A public address is fine; another kind only if the registry itself is at one of that kind. */
function addressProblem(kind: AddressKind, registryKinds: ReadonlySet<AddressKind>): string | undefined {
  if (kind === 'public') return undefined;
  if (kind !== 'unspecified' && kind !== 'reserved' && registryKinds.has(kind)) return undefined;
  return `it is ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} address, and the registry is not on one`;
}

/** The kinds of address the registry's configured host is at: its own, or what its name resolves to. */
function kindsOf(host: string, lookup: Lookup): Promise<Set<AddressKind>> {
  const name = host.replace(/:\d+$/, '');
  const literal = addressKind(name);
  if (literal !== undefined) return Promise.resolve(new Set([literal]));
  if (name === 'localhost') return Promise.resolve(new Set<AddressKind>(['loopback']));
  return new Promise((resolve) => {
    lookup(name, (error, addresses) =>
      resolve(new Set(error ? [] : addresses.map(({ address }) => addressKind(address) ?? 'reserved'))),
    );
  });
}

interface Endpoint {
  host: string;
  name: string;
}

function endpointOf(repository: string): Endpoint {
  const match = REPOSITORY.exec(repository);
  const host = match?.[1];
  const name = match?.[2];
  if (!host || !name || !(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw new InvalidInput(`${repository} is not an image repository with its registry host, such as ghcr.io/org/app`);
  }
  if (!DOCKER_HUB_HOSTS.has(host)) return { host, name };
  // Docker Hub serves the API from another host, and official images from the library namespace.
  return { host: 'registry-1.docker.io', name: name.includes('/') ? name : `library/${name}` };
}

type Call = (what: string, url: string | URL, init: RequestInit) => Promise<Response>;
type Read = (what: string, response: Response) => Promise<Buffer>;

interface BearerChallenge {
  realm: string;
  service?: string;
  scope?: string;
}

/** `Bearer realm="…",service="…",scope="…"` (RFC 6750 section 3), or undefined for any other scheme. */
function bearerChallenge(header: string | null): BearerChallenge | undefined {
  const params = header ? /^\s*Bearer\s+(.+)$/i.exec(header)?.[1] : undefined;
  if (params === undefined) return undefined;
  const values: Record<string, string> = {};
  for (const [, key, quoted, bare] of params.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g)) {
    if (key) values[key.toLowerCase()] = quoted === undefined ? (bare ?? '') : quoted.replace(/\\(.)/g, '$1');
  }
  const { realm, service, scope } = values;
  if (!realm) return undefined;
  return { realm, ...(service ? { service } : {}), ...(scope ? { scope } : {}) };
}

function failedCall(what: string, error: unknown, signal: AbortSignal, timeoutMs: number): UpstreamFailed {
  // The deadline's own state, not the error's class: fetch's DOMException may come from another realm.
  if (signal.aborted) {
    return new UpstreamFailed(`${what} did not answer within ${timeoutMs} ms`, { cause: error });
  }
  if (error instanceof BlockedAddress) {
    return new UpstreamFailed(
      `${what}: ${error.host} is at ${error.address}, where Slipway does not go: ${addressProblem(error.kind, NONE)}`,
      { cause: error },
    );
  }
  // node:http puts the socket's code on the error, fetch on its cause.
  const failure = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof failure?.code === 'string' ? failure.code : failure?.cause?.code;
  return new UpstreamFailed(`${what} could not be reached${typeof code === 'string' ? ` (${code})` : ''}`, {
    cause: error,
  });
}

function withoutAuthorization(headers: RequestInit['headers']): Record<string, string> {
  return Object.fromEntries([...new Headers(headers).entries()].filter(([header]) => header !== 'authorization'));
}

async function discard(response: Response): Promise<void> {
  // An unread body keeps its connection busy until it is collected.
  await response.body?.cancel().catch(() => undefined);
}

/**
 * The digest a tag points at now, read with a HEAD of the manifest: Docker Hub meters manifest GETs as pulls.
 * Public images only: a 401 is answered with an anonymous token from the registry's own token service.
 * Throws Unprocessable when the tag does not exist, UpstreamFailed naming the host for anything else.
 */
export async function resolveDigest(
  repository: string,
  tag: string,
  options: ResolveDigestOptions = {},
): Promise<string> {
  const { host, name } = endpointOf(repository);
  if (!TAG.test(tag)) throw new InvalidInput(`${JSON.stringify(tag)} is not an image tag`);
  const scheme = options.scheme ?? 'https';
  const lookup = options.lookup ?? systemLookup;
  let registryKinds: Promise<Set<AddressKind>> | undefined;
  const kinds = () => {
    registryKinds ??= kindsOf(host, lookup);
    return registryKinds;
  };
  const fetchImpl =
    options.fetch ??
    guardedFetch({
      allows: async (kind) => addressProblem(kind, await kinds()) === undefined,
      lookup,
      ...(options.ca ? { ca: options.ca } : {}),
    });
  const timeoutMs = options.timeoutMs ?? 5_000;
  const signal = AbortSignal.timeout(timeoutMs);
  const registry = `registry ${host}`;

  const call: Call = async (what, url, init) => {
    let target = new URL(url);
    let request = init;
    for (let redirects = 0; ; redirects += 1) {
      // The registry's kinds are read (a DNS lookup for a name) only for a host that is a non-public IP literal.
      const literal = addressKind(target.hostname.replace(/^\[(.*)\]$/, '$1'));
      const problem = hopProblem(target, { scheme, kinds: literal && literal !== 'public' ? await kinds() : NONE });
      if (problem) {
        const where = redirects === 0 ? `is at ${target.origin}` : `redirected to ${target.origin}`;
        throw new UpstreamFailed(`${what} ${where}, where Slipway does not go: ${problem}`, {
          details: { host: target.host },
        });
      }
      let response: Response;
      try {
        response = await fetchImpl(target, { ...request, redirect: 'manual', signal });
      } catch (error) {
        throw failedCall(what, error, signal, timeoutMs);
      }
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return response;
      await discard(response);
      if (redirects === MAX_REDIRECTS) throw new UpstreamFailed(`${what} redirected more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URL(location, target);
      } catch {
        throw new UpstreamFailed(`${what} redirected to something that is not a URL`);
      }
      // A bearer token is for the origin it was asked for, as curl and browsers keep it.
      if (next.origin !== target.origin) request = { ...request, headers: withoutAuthorization(request.headers) };
      if (response.status === 303 && request.method !== 'HEAD') request = { ...request, method: 'GET' };
      target = next;
    }
  };
  const read: Read = async (what, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      // Read as a stream and stop at the limit: a registry could otherwise make Slipway hold any amount.
      for await (const chunk of response.body ?? []) {
        size += chunk.byteLength;
        if (size > MAX_BODY_BYTES) break;
        chunks.push(Buffer.from(chunk));
      }
    } catch (error) {
      throw failedCall(what, error, signal, timeoutMs);
    }
    if (size > MAX_BODY_BYTES) {
      await discard(response);
      throw new UpstreamFailed(`${what} answered with more than ${MAX_BODY_BYTES} bytes`);
    }
    return Buffer.concat(chunks);
  };

  const manifestUrl = `${scheme}://${host}/v2/${name}/manifests/${tag}`;
  const headers: Record<string, string> = { accept: MANIFEST_MEDIA_TYPES.join(', ') };
  let response = await call(registry, manifestUrl, { method: 'HEAD', headers });

  if (response.status === 401) {
    const challenge = bearerChallenge(response.headers.get('www-authenticate'));
    await discard(response);
    if (!challenge) {
      throw new UpstreamFailed(`${registry} asks for credentials, not an anonymous bearer token (HTTP 401)`, {
        details: { host, status: 401 },
      });
    }
    headers.authorization = `Bearer ${await anonymousToken(challenge, name, call, read, registry)}`;
    response = await call(registry, manifestUrl, { method: 'HEAD', headers });
    if (response.status === 401) {
      await discard(response);
      throw new UpstreamFailed(
        `${registry} refused an anonymous token for ${name} (HTTP 401): the repository is private or does not exist`,
        { details: { host, status: 401 } },
      );
    }
  }

  await discard(response);
  if (response.status === 404) throw new Unprocessable(`${repository} has no tag ${tag}`);
  if (!response.ok) {
    throw new UpstreamFailed(`${registry} answered HTTP ${response.status} for ${name}:${tag}`, {
      details: { host, status: response.status },
    });
  }

  const digest = response.headers.get('docker-content-digest');
  if (digest === null) {
    return digestOfBody(await call(registry, manifestUrl, { method: 'GET', headers }), read, registry);
  }
  if (!DIGEST.test(digest)) {
    throw new UpstreamFailed(`${registry} answered with a Docker-Content-Digest that is not sha256:<64 hex digits>`, {
      details: { host },
    });
  }
  return digest;
}

async function anonymousToken(
  challenge: BearerChallenge,
  name: string,
  call: Call,
  read: Read,
  registry: string,
): Promise<string> {
  let url: URL;
  try {
    url = new URL(challenge.realm);
  } catch {
    throw new UpstreamFailed(`${registry} sent a bearer challenge whose realm is not a URL`);
  }
  if (challenge.service) url.searchParams.set('service', challenge.service);
  // Several scopes come space-separated in the challenge and go as one scope parameter each.
  for (const scope of (challenge.scope ?? `repository:${name}:pull`).split(' ')) {
    if (scope) url.searchParams.append('scope', scope);
  }
  // The realm, like every hop, is checked in call: scheme and address.
  const tokenService = `token service ${url.host}`;
  const response = await call(tokenService, url, { method: 'GET', headers: { accept: 'application/json' } });
  if (!response.ok) {
    await discard(response);
    throw new UpstreamFailed(`${tokenService} answered HTTP ${response.status}`, {
      details: { host: url.host, status: response.status },
    });
  }
  let body: unknown;
  try {
    body = JSON.parse((await read(tokenService, response)).toString('utf8'));
  } catch (error) {
    if (error instanceof UpstreamFailed) throw error;
  }
  // The token specification names it token, or access_token for OAuth 2.0 clients.
  const { token, access_token: accessToken } = (body ?? {}) as { token?: unknown; access_token?: unknown };
  const value = typeof token === 'string' && token !== '' ? token : accessToken;
  if (typeof value !== 'string' || value === '') {
    throw new UpstreamFailed(`${tokenService} answered without a token`, { details: { host: url.host } });
  }
  return value;
}

/** Docker-Content-Digest is optional in the OCI specification; without it the digest is the manifest's own hash. */
async function digestOfBody(response: Response, read: Read, registry: string): Promise<string> {
  if (!response.ok) {
    await discard(response);
    throw new UpstreamFailed(`${registry} answered HTTP ${response.status} to a manifest GET`, {
      details: { status: response.status },
    });
  }
  const bytes = await read(registry, response);
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
