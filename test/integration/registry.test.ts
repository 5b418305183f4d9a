import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInput, Unprocessable, UpstreamFailed } from '../../lib/errors';
import { resolveDigest } from '../../lib/release/registry';
import { selfSignedCertificate } from '../support/tls';

/** Registries served by node:http on 127.0.0.1: resolveDigest speaks to them over real sockets. */

const DIGEST = `sha256:${'3f2a1c9e'.repeat(8)}`;
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Seen {
  method: string;
  url: string;
  accept: string | undefined;
  authorization: string | undefined;
}

interface Registry {
  host: string;
  seen: Seen[];
}

const servers: Server[] = [];

async function registry(handle: (request: IncomingMessage, response: ServerResponse, host: string) => void) {
  const seen: Seen[] = [];
  let host = '';
  const server = createServer((request, response) => {
    seen.push({
      method: request.method ?? '',
      url: request.url ?? '',
      accept: request.headers.accept,
      authorization: request.headers.authorization,
    });
    handle(request, response, host);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, seen } satisfies Registry;
}

const answer =
  (status: number, headers: Record<string, string> = {}) =>
  (_: IncomingMessage, response: ServerResponse) => {
    response.writeHead(status, headers);
    response.end();
  };

afterAll(async () => {
  for (const server of servers) {
    // The silent registry still holds its request open.
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected it to reject');
    },
    (error: unknown) => error,
  );
}

describe('resolveDigest', () => {
  let open: Registry;
  let guarded: Registry;
  let guardedByAccessToken: Registry;
  let missing: Registry;
  let broken: Registry;
  let silent: Registry;
  let headless: Registry;
  let privateRepository: Registry;
  let basicOnly: Registry;
  let misbehaving: Registry;
  let multiScope: Registry;
  let closedHost: string;
  const MANIFEST = Buffer.from(
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
  );

  /** Answers 401 with a challenge pointing to its own /token until the request carries the token it hands out. */
  const withTokenService =
    (tokenField: 'token' | 'access_token') => (request: IncomingMessage, response: ServerResponse, host: string) => {
      if (request.url?.startsWith('/token')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ [tokenField]: 'anonymous-pull-token', expires_in: 300 }));
        return;
      }
      if (request.headers.authorization !== 'Bearer anonymous-pull-token') {
        response.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="repository:team/app:pull"`,
        });
        response.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
      response.writeHead(200, { 'docker-content-digest': DIGEST });
      response.end();
    };

  beforeAll(async () => {
    open = await registry(
      answer(200, { 'docker-content-digest': DIGEST, 'content-type': ACCEPT.split(', ')[0] ?? '' }),
    );
    guarded = await registry(withTokenService('token'));
    guardedByAccessToken = await registry(withTokenService('access_token'));
    missing = await registry((_, response) => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    broken = await registry((_, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('panic: runtime error: invalid memory address at /srv/registry/internal/storage.go:88');
    });
    silent = await registry(() => undefined);
    headless = await registry((request, response) => {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      response.end(request.method === 'GET' ? MANIFEST : undefined);
    });
    privateRepository = await registry((request, response, host) => {
      if (request.url?.startsWith('/token')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"token":"anonymous-pull-token"}');
        return;
      }
      response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry"` });
      response.end();
    });
    basicOnly = await registry(answer(401, { 'www-authenticate': 'Basic realm="Registry Realm"' }));
    // One repository per way a registry or its token service can answer wrongly.
    const tooLarge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    misbehaving = await registry((request, response, host) => {
      const [, kind, repository] = new URL(request.url ?? '/', 'http://localhost').pathname.split('/');
      const stall = () => response.write('{"');
      if (kind === 'token') {
        const tokens: Record<string, () => void> = {
          'token-down': () => {
            response.writeHead(503, { 'content-type': 'text/plain' });
            response.end('token service is down for maintenance, see https://status.internal.example');
          },
          'token-empty': () => response.end('{"expires_in":300}'),
          'token-garbage': () => response.end('<html><body>maintenance</body></html>'),
          'token-stalled': stall,
        };
        tokens[repository ?? '']?.();
        return;
      }
      const manifests: Record<string, () => void> = {
        'bad-digest': () => {
          response.writeHead(200, { 'docker-content-digest': 'md5:d41d8cd98f00b204e9800998ecf8427e' });
          response.end();
        },
        'relative-realm': () => {
          response.writeHead(401, { 'www-authenticate': 'Bearer realm="/token",service="test-registry"' });
          response.end();
        },
        'get-fails': () => {
          response.writeHead(500);
          response.end('panic: see https://status.internal.example');
        },
        huge: () => response.end(tooLarge),
        // Chunked and never finished: only a reader that stops at its limit answers before the deadline.
        endless: () => response.write(tooLarge),
        stalled: stall,
      };
      if (repository?.startsWith('token-')) {
        response.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${host}/token/${repository}",service="test-registry"`,
        });
        response.end();
      } else if (request.method === 'HEAD' && repository !== 'bad-digest' && repository !== 'relative-realm') {
        // Without Docker-Content-Digest, so that the manifest itself is fetched.
        response.writeHead(200);
        response.end();
      } else {
        manifests[repository ?? '']?.();
      }
    });
    multiScope = await registry((request, response, host) => {
      if (request.url?.startsWith('/token')) {
        response.end('{"token":"two-scope-token"}');
      } else if (request.headers.authorization === 'Bearer two-scope-token') {
        response.writeHead(200, { 'docker-content-digest': DIGEST });
        response.end();
      } else {
        response.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${host}/token",service="registry \\"two\\"",scope="repository:team/app:pull repository:team/base:pull"`,
        });
        response.end();
      }
    });
    const closed = await registry(answer(200));
    closedHost = closed.host;
    const last = servers.pop();
    await new Promise((resolve) => last?.close(resolve));
  });

  it('reads Docker-Content-Digest from a HEAD of the manifest, asking for every manifest type', async () => {
    // Given a registry that answers the HEAD with the digest
    // When the tag is resolved
    const digest = await resolveDigest(`${open.host}/team/app`, '1.4.2', { scheme: 'http' });

    // Then the digest is the header's, from one HEAD that lists the index and manifest types
    expect(digest).toBe(DIGEST);
    expect(open.seen).toEqual([
      { method: 'HEAD', url: '/v2/team/app/manifests/1.4.2', accept: ACCEPT, authorization: undefined },
    ]);
  });

  it.each([
    ['token', () => guarded],
    ['access_token', () => guardedByAccessToken],
  ])('answers a 401 bearer challenge with an anonymous token from the realm (%s)', async (_, server) => {
    // Given a registry that wants a token from its own token service
    const { host, seen } = server();

    // When the tag is resolved
    const digest = await resolveDigest(`${host}/team/app`, '1.4.2', { scheme: 'http' });

    // Then the token was asked for with the challenge's service and scope, and the HEAD retried once with it
    expect(digest).toBe(DIGEST);
    expect(seen.map(({ method, url }) => `${method} ${url}`)).toEqual([
      'HEAD /v2/team/app/manifests/1.4.2',
      'GET /token?service=test-registry&scope=repository%3Ateam%2Fapp%3Apull',
      'HEAD /v2/team/app/manifests/1.4.2',
    ]);
    const query = new URL(`http://${host}${seen[1]?.url}`).searchParams;
    expect({ service: query.getAll('service'), scope: query.getAll('scope') }).toEqual({
      service: ['test-registry'],
      scope: ['repository:team/app:pull'],
    });
    expect(seen[0]?.authorization).toBeUndefined();
    expect(seen[1]?.authorization).toBeUndefined();
    expect(seen[2]).toEqual({
      method: 'HEAD',
      url: '/v2/team/app/manifests/1.4.2',
      accept: ACCEPT,
      authorization: 'Bearer anonymous-pull-token',
    });
  });

  it('sends each scope of the challenge as its own parameter, with quoted values unescaped', async () => {
    // Given a challenge with two space-separated scopes and an escaped quote in the service
    const { host, seen } = multiScope;

    // When the tag is resolved
    const digest = await resolveDigest(`${host}/team/app`, '1.4.2', { scheme: 'http' });

    // Then the token request carries both scopes and the service as meant
    expect(digest).toBe(DIGEST);
    const query = new URL(`http://${host}${seen[1]?.url}`).searchParams;
    expect({ service: query.getAll('service'), scope: query.getAll('scope') }).toEqual({
      service: ['registry "two"'],
      scope: ['repository:team/app:pull', 'repository:team/base:pull'],
    });
  });

  it('is Unprocessable naming the repository and tag on a 404', async () => {
    const error = await rejection(resolveDigest(`${missing.host}/team/app`, '9.9.9', { scheme: 'http' }));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error).toMatchObject({ status: 422, message: `${missing.host}/team/app has no tag 9.9.9` });
  });

  it('is UpstreamFailed naming the host and status on a 500, and none of the body', async () => {
    // Given a registry that fails with an internal detail in its body
    // When the tag is resolved
    const error = await rejection(resolveDigest(`${broken.host}/team/app`, '1.4.2', { scheme: 'http' }));

    // Then the error names where and what, not the body
    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error).toMatchObject({
      status: 502,
      message: `registry ${broken.host} answered HTTP 500 for team/app:1.4.2`,
      details: { host: broken.host, status: 500 },
    });
    expect(
      JSON.stringify({ message: (error as Error).message, details: (error as UpstreamFailed).details }),
    ).not.toMatch(/panic|storage\.go/);
  });

  it('gives up on a registry that never answers after timeoutMs', async () => {
    // Given a registry that accepts the connection and says nothing
    const started = Date.now();

    // When the tag is resolved with a 200 ms deadline
    const error = await rejection(
      resolveDigest(`${silent.host}/team/app`, '1.4.2', { scheme: 'http', timeoutMs: 200 }),
    );

    // Then it fails soon after the deadline, naming the host
    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error).toMatchObject({ message: `registry ${silent.host} did not answer within 200 ms` });
    expect(Date.now() - started).toBeLessThan(2_000);
    // A resolution that ignores its deadline fails here in seconds, not at the suite's four minutes.
  }, 5_000);

  it('is UpstreamFailed naming the host when nothing listens there', async () => {
    const error = await rejection(resolveDigest(`${closedHost}/team/app`, '1.4.2', { scheme: 'http' }));

    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error).toMatchObject({ message: `registry ${closedHost} could not be reached (ECONNREFUSED)` });
  });

  it('hashes the manifest itself when the registry sends no Docker-Content-Digest', async () => {
    // Given a registry that omits the optional header
    const digest = await resolveDigest(`${headless.host}/team/app`, '1.4.2', { scheme: 'http' });

    // Then the digest is the SHA-256 of the manifest bytes, fetched once with GET
    expect(digest).toBe(`sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`);
    expect(headless.seen.map(({ method, accept }) => [method, accept])).toEqual([
      ['HEAD', ACCEPT],
      ['GET', ACCEPT],
    ]);
  });

  it.each([
    ['docker.io/acme/shop', 'https://registry-1.docker.io/v2/acme/shop/manifests/1.4.2'],
    ['docker.io/nginx', 'https://registry-1.docker.io/v2/library/nginx/manifests/1.4.2'],
    ['index.docker.io/library/nginx', 'https://registry-1.docker.io/v2/library/nginx/manifests/1.4.2'],
    ['ghcr.io/acme-corp/shop-backend', 'https://ghcr.io/v2/acme-corp/shop-backend/manifests/1.4.2'],
  ])('asks the right host and name for %s', async (repository, expected) => {
    // Given a fetch that records the URL and sends it to the local registry instead
    const asked: string[] = [];
    const relay: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      asked.push(url.href);
      return fetch(`http://${open.host}${url.pathname}`, init);
    };

    // When the tag is resolved
    const digest = await resolveDigest(repository, '1.4.2', { fetch: relay });

    // Then the registry's API host and the full name were used, over https by default
    expect(digest).toBe(DIGEST);
    expect(asked).toEqual([expected]);
  });

  it.each([
    [
      'a repository without a registry host',
      'acme/shop',
      '1.4.2',
      'acme/shop is not an image repository with its registry host, such as ghcr.io/org/app',
    ],
    [
      'a repository with a tag in it',
      'ghcr.io/acme/shop:1.4.2',
      '1.4.2',
      'ghcr.io/acme/shop:1.4.2 is not an image repository with its registry host, such as ghcr.io/org/app',
    ],
    [
      'a tag that would change the path',
      'ghcr.io/acme/shop',
      '../../v2/_catalog',
      '"../../v2/_catalog" is not an image tag',
    ],
  ])('refuses %s before any request', async (_, repository, tag, message) => {
    const asked: string[] = [];
    const relay: typeof fetch = async (input) => {
      asked.push(String(input));
      return new Response(null, { status: 200 });
    };

    const error = await rejection(resolveDigest(repository, tag, { fetch: relay }));

    expect(error).toBeInstanceOf(InvalidInput);
    expect(error).toMatchObject({ status: 400, message });
    expect(asked).toEqual([]);
  });

  it('retries once only, and says the repository may be private when the token is refused too', async () => {
    // Given a registry that hands out a token and then refuses it
    const { host, seen } = privateRepository;

    // When the tag is resolved
    const error = await rejection(resolveDigest(`${host}/team/secret-app`, '1.4.2', { scheme: 'http' }));

    // Then the token was asked for the pull scope it had to guess, and the HEAD was tried twice in all
    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error).toMatchObject({
      message: `registry ${host} refused an anonymous token for team/secret-app (HTTP 401): the repository is private or does not exist`,
    });
    expect(seen.map(({ method, url }) => `${method} ${url}`)).toEqual([
      'HEAD /v2/team/secret-app/manifests/1.4.2',
      'GET /token?service=test-registry&scope=repository%3Ateam%2Fsecret-app%3Apull',
      'HEAD /v2/team/secret-app/manifests/1.4.2',
    ]);
  });

  it('does not guess at a challenge other than Bearer', async () => {
    const error = await rejection(resolveDigest(`${basicOnly.host}/team/app`, '1.4.2', { scheme: 'http' }));

    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error).toMatchObject({
      message: `registry ${basicOnly.host} asks for credentials, not an anonymous bearer token (HTTP 401)`,
    });
    expect(basicOnly.seen).toHaveLength(1);
  });

  it('will not fetch a token over plain http when the registry is reached over https', async () => {
    // Given an https registry (relayed to a local one) whose challenge points to an http realm
    const asked: string[] = [];
    const relay: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      asked.push(url.href);
      return fetch(`http://${guarded.host}${url.pathname}${url.search}`, init);
    };

    // When the tag is resolved
    const error = await rejection(resolveDigest('ghcr.io/team/app', '1.4.2', { fetch: relay }));

    // Then the token service is never asked
    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error).toMatchObject({
      message: `token service ${guarded.host} is at http://${guarded.host}, where Slipway does not go: it is not https`,
    });
    expect(asked).toEqual(['https://ghcr.io/v2/team/app/manifests/1.4.2']);
  });

  it.each([
    ['bad-digest', 'registry HOST answered with a Docker-Content-Digest that is not sha256:<64 hex digits>'],
    ['relative-realm', 'registry HOST sent a bearer challenge whose realm is not a URL'],
    ['get-fails', 'registry HOST answered HTTP 500 to a manifest GET'],
    ['huge', 'registry HOST answered with more than 4194304 bytes'],
    ['endless', 'registry HOST answered with more than 4194304 bytes'],
    ['stalled', 'registry HOST did not answer within 1000 ms'],
    ['token-down', 'token service HOST answered HTTP 503'],
    ['token-empty', 'token service HOST answered without a token'],
    ['token-garbage', 'token service HOST answered without a token'],
    ['token-stalled', 'token service HOST did not answer within 1000 ms'],
  ])('is UpstreamFailed, without the body, for the repository %s', async (repository, message) => {
    // Given a registry or token service that answers wrongly for this repository
    // When its tag is resolved
    const error = await rejection(
      resolveDigest(`${misbehaving.host}/${repository}`, '1.4.2', { scheme: 'http', timeoutMs: 1_000 }),
    );

    // Then the error says which service did what, and repeats nothing it sent
    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error).toMatchObject({ status: 502, message: message.replace('HOST', misbehaving.host) });
    expect((error as Error).message).not.toMatch(/maintenance|status\.internal|panic/);
  });
});

/**
 * The registry chooses where Slipway goes next: its bearer challenge names the token service (the
 * realm), and any answer may redirect. Here every server is real and on 127.0.0.1: an HTTPS registry
 * and token service (a certificate made by openssl, which the resolution is told to trust), and a
 * plain-http "internal service" holding something shaped like a token, which must never be asked.
 */
describe('resolveDigest over https, where the registry chooses the next hop', () => {
  let dir: string;
  let tls: { key: Buffer; cert: Buffer };
  let registryHost: string;
  let tokenHost: string;
  let mirrorHost: string;
  let internalHost: string;
  const registrySaw: Array<string | undefined> = [];
  const mirrorSaw: Array<string | undefined> = [];
  const internalSaw: string[] = [];

  const listen = async (server: Server) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const redirect = (response: ServerResponse, status: number, location: string) => {
    response.writeHead(status, { location });
    response.end();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-registry-'));
    tls = selfSignedCertificate(dir);
    internalHost = await listen(
      createServer((request, response) => {
        internalSaw.push(request.url ?? '');
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"token":"internal-secret"}');
      }),
    );
    // The token service: /token/<repository> answers a token, or redirects as that repository's case says.
    tokenHost = await listen(
      createHttpsServer(tls, (request, response) => {
        const repository = new URL(request.url ?? '/', 'https://x').pathname.split('/')[2] ?? '';
        const hops: Record<string, () => void> = {
          'same-origin': () => redirect(response, 302, '/token/app'),
          'to-http': () => redirect(response, 302, `http://${internalHost}/latest/meta-data/iam`),
          'to-metadata': () => redirect(response, 302, 'https://169.254.169.254/latest/api/token'),
          'to-private': () => redirect(response, 307, 'https://10.0.0.1/token'),
          'to-mapped': () => redirect(response, 302, 'https://[::ffff:a9fe:a9fe]/latest/api/token'),
          'to-unspecified': () => redirect(response, 302, `https://0.0.0.0:${tokenHost.split(':')[1]}/token/app`),
          loop: () => redirect(response, 302, '/token/loop'),
        };
        const hop = hops[repository];
        if (hop) return hop();
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"token":"anonymous-pull-token"}');
      }),
    );
    mirrorHost = await listen(
      createHttpsServer(tls, (request, response) => {
        mirrorSaw.push(request.headers.authorization);
        response.writeHead(200, { 'docker-content-digest': DIGEST });
        response.end();
      }),
    );
    registryHost = await listen(
      createHttpsServer(tls, (request, response) => {
        registrySaw.push(request.headers.authorization);
        const repository = (request.url ?? '').split('/')[3] ?? '';
        if (request.headers.authorization !== 'Bearer anonymous-pull-token') {
          const realm =
            repository === 'realm-metadata'
              ? 'https://169.254.169.254/latest/api/token'
              : `https://${tokenHost}/token/${repository}`;
          response.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="test-registry"` });
          response.end();
        } else if (repository === 'moved') {
          redirect(response, 307, `https://${mirrorHost}${request.url}`);
        } else {
          response.writeHead(200, { 'docker-content-digest': DIGEST });
          response.end();
        }
      }),
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const resolve = (repository: string) =>
    resolveDigest(`${registryHost}/team/${repository}`, '1.4.2', { ca: tls.cert, timeoutMs: 3_000 });

  it('follows a redirect of the token service within its own origin, over https', async () => {
    // Given a registry on 127.0.0.1, whose token service (also on 127.0.0.1) redirects to itself
    // When the tag is resolved
    // Then the digest comes back: a loopback hop is allowed because the registry itself is on loopback
    expect(await resolve('same-origin')).toBe(DIGEST);
  });

  it.each([
    ['to-http', () => `redirected to http://${internalHost}, where Slipway does not go: it is not https`],
    [
      'to-metadata',
      () =>
        'redirected to https://169.254.169.254, where Slipway does not go: it is a link-local address, and the registry is not on one',
    ],
    [
      'to-private',
      () =>
        'redirected to https://10.0.0.1, where Slipway does not go: it is a private address, and the registry is not on one',
    ],
    [
      'to-mapped',
      () =>
        'redirected to https://[::ffff:a9fe:a9fe], where Slipway does not go: it is a link-local address, and the registry is not on one',
    ],
    [
      'to-unspecified',
      () =>
        `redirected to https://0.0.0.0:${tokenHost.split(':')[1]}, where Slipway does not go: it is an unspecified address, and the registry is not on one`,
    ],
  ])('refuses a token service redirecting %s, and no token reaches the registry', async (repository, reason) => {
    // Given a token service that redirects the token request somewhere Slipway must not go
    const seenBefore = registrySaw.length;

    // When the tag is resolved
    const error = await rejection(resolve(repository));

    // Then it fails naming the hop, nothing was asked there, and the registry got no token
    expect(error).toBeInstanceOf(UpstreamFailed);
    expect((error as Error).message).toBe(`token service ${tokenHost} ${reason()}`);
    expect(internalSaw).toEqual([]);
    expect(registrySaw.slice(seenBefore)).toEqual([undefined]);
  });

  it('refuses a realm at the metadata address itself, before any request to it', async () => {
    const error = await rejection(resolve('realm-metadata'));

    expect((error as Error).message).toBe(
      'token service 169.254.169.254 is at https://169.254.169.254, where Slipway does not go: it is a link-local address, and the registry is not on one',
    );
  });

  it('stops after five redirects', async () => {
    const error = await rejection(resolve('loop'));

    expect((error as Error).message).toBe(`token service ${tokenHost} redirected more than 5 times`);
  });

  it('follows a manifest redirect to another origin without the bearer token', async () => {
    // Given a registry that answers the authorized HEAD with a redirect to a mirror
    const seenBefore = mirrorSaw.length;

    // When the tag is resolved
    const digest = await resolve('moved');

    // Then the mirror answered, and was never shown the registry's token
    expect(digest).toBe(DIGEST);
    expect(mirrorSaw.slice(seenBefore)).toEqual([undefined]);
  });

  it('does not trust a certificate it was not told to', async () => {
    const error = await rejection(resolveDigest(`${registryHost}/team/app`, '1.4.2', { timeoutMs: 3_000 }));

    expect((error as Error).message).toBe(
      `registry ${registryHost} could not be reached (DEPTH_ZERO_SELF_SIGNED_CERT)`,
    );
  });
});
