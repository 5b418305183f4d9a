import { createHash } from 'node:crypto';
import { InvalidInput, Unprocessable, UpstreamFailed } from '../errors';

/** Tag-to-digest resolution over the OCI Distribution API, for registries other than ECR. */

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

export interface ResolveDigestOptions {
  fetch?: typeof fetch;
  /** One deadline for the whole resolution, token exchange included. */
  timeoutMs?: number;
  scheme?: 'https' | 'http';
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
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return new UpstreamFailed(`${what} could not be reached${typeof code === 'string' ? ` (${code})` : ''}`, {
    cause: error,
  });
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
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const scheme = options.scheme ?? 'https';
  const signal = AbortSignal.timeout(timeoutMs);
  const registry = `registry ${host}`;

  const call: Call = async (what, url, init) => {
    try {
      return await fetchImpl(url, { ...init, signal });
    } catch (error) {
      throw failedCall(what, error, signal, timeoutMs);
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
    headers.authorization = `Bearer ${await anonymousToken(challenge, name, scheme, call, read, registry)}`;
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
  scheme: 'https' | 'http',
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
  // The realm is the registry's to choose; it must not lead the token request off TLS.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && scheme === 'http')) {
    throw new UpstreamFailed(`${registry} sent a bearer challenge whose realm is not an ${scheme} URL`);
  }
  if (challenge.service) url.searchParams.set('service', challenge.service);
  // Several scopes come space-separated in the challenge and go as one scope parameter each.
  for (const scope of (challenge.scope ?? `repository:${name}:pull`).split(' ')) {
    if (scope) url.searchParams.append('scope', scope);
  }
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
