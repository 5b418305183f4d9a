import type { LookupAddress } from 'node:dns';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpstreamFailed } from '../../lib/errors';
import { BlockedAddress, guardedFetch, type Lookup } from '../../lib/net/guarded-fetch';
import { resolveDigest } from '../../lib/release/registry';
import { selfSignedCertificate } from '../support/tls';

/**
 * The connection under resolveDigest checks the addresses it connects to, as node resolves them for
 * that very connection: a name is judged by what it resolves to, not by how it looks. Names here are
 * resolved by the test's own lookup (to 127.0.0.1 where a server listens, or elsewhere where none does);
 * the certificate carries them, so TLS holds.
 */

const DIGEST = `sha256:${'5e'.repeat(32)}`;
let dir: string;
let tls: { key: Buffer; cert: Buffer };
let server: Server;
let port: number;
const seen: string[] = [];
let realmName = 'realm.example';

/** Names to addresses, as DNS would answer them; anything else is not found. */
function lookupOf(table: Record<string, string[]>): { lookup: Lookup; asked: string[] } {
  const asked: string[] = [];
  const lookup: Lookup = (hostname, callback) => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      return;
    }
    callback(
      null,
      addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  return { lookup, asked };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-guarded-'));
  tls = selfSignedCertificate(dir, { names: ['registry.example', 'realm.example', 'metadata.example'] });
  // One server plays registry and token service: a HEAD without the token gets a challenge naming realmName.
  server = createServer(tls, (request, response) => {
    seen.push(`${request.headers.host} ${request.method} ${request.url}`);
    if (request.url?.startsWith('/token')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"token":"anonymous-pull-token"}');
    } else if (request.headers.authorization === 'Bearer anonymous-pull-token') {
      response.writeHead(200, { 'docker-content-digest': DIGEST });
      response.end();
    } else {
      response.writeHead(401, { 'www-authenticate': `Bearer realm="https://${realmName}:${port}/token"` });
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen.length = 0;
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to fail');
}

describe('guardedFetch', () => {
  it('refuses a name that resolves to loopback when loopback is not allowed, before connecting', async () => {
    // Given a name that looks public but resolves to this machine
    const { lookup } = lookupOf({ 'registry.example': ['127.0.0.1'] });
    const fetchPublicOnly = guardedFetch({ allows: (kind) => kind === 'public', lookup, ca: tls.cert });

    // When it is fetched
    const error = await failure(fetchPublicOnly(`https://registry.example:${port}/v2/`));

    // Then the connection is refused, naming the address, and the server heard nothing
    expect(error).toBeInstanceOf(BlockedAddress);
    expect(error).toMatchObject({ host: 'registry.example', address: '127.0.0.1', kind: 'loopback' });
    expect(seen).toEqual([]);
  });

  it('connects to the address the name resolved to when its kind is allowed, TLS checked against the name', async () => {
    const { lookup, asked } = lookupOf({ 'registry.example': ['127.0.0.1'] });
    const fetchLoopback = guardedFetch({ allows: (kind) => kind === 'loopback', lookup, ca: tls.cert });

    const response = await fetchLoopback(`https://registry.example:${port}/v2/`, { method: 'HEAD' });

    expect(response.status).toBe(401);
    expect(asked).toEqual(['registry.example']);
    expect(seen).toEqual([`registry.example:${port} HEAD /v2/`]);
  });

  it('judges every address a name has: one private among loopback ones is enough to refuse', async () => {
    const { lookup } = lookupOf({ 'registry.example': ['127.0.0.1', '10.0.0.1'] });
    const fetchLoopback = guardedFetch({ allows: (kind) => kind === 'loopback', lookup, ca: tls.cert });

    const error = await failure(fetchLoopback(`https://registry.example:${port}/v2/`));

    expect(error).toMatchObject({ address: '10.0.0.1', kind: 'private' });
    expect(seen).toEqual([]);
  });

  it('checks an IP literal, which node never resolves, before connecting', async () => {
    const fetchPublicOnly = guardedFetch({ allows: (kind) => kind === 'public', ca: tls.cert });

    const error = await failure(fetchPublicOnly(`https://127.0.0.1:${port}/v2/`));

    expect(error).toMatchObject({ address: '127.0.0.1', kind: 'loopback' });
    expect(seen).toEqual([]);
  });
});

describe('resolveDigest with a registry and realm reached by name', () => {
  it('takes a realm whose name resolves to the kind of address the registry is at', async () => {
    // Given a registry and its realm, both names resolving to 127.0.0.1
    realmName = 'realm.example';
    const { lookup } = lookupOf({ 'registry.example': ['127.0.0.1'], 'realm.example': ['127.0.0.1'] });

    // When the tag is resolved
    const digest = await resolveDigest(`registry.example:${port}/team/app`, '1.4.2', { ca: tls.cert, lookup });

    // Then the token was fetched from the realm by name, and the digest read with it
    expect(digest).toBe(DIGEST);
    expect(seen.map((line) => line.split(' ')[0])).toEqual([
      `registry.example:${port}`,
      `realm.example:${port}`,
      `registry.example:${port}`,
    ]);
  });

  it('refuses a realm whose innocent name resolves to the metadata address', async () => {
    // Given a registry whose challenge names a realm that DNS points at 169.254.169.254
    realmName = 'metadata.example';
    const { lookup } = lookupOf({ 'registry.example': ['127.0.0.1'], 'metadata.example': ['169.254.169.254'] });

    // When the tag is resolved
    const error = await failure(resolveDigest(`registry.example:${port}/team/app`, '1.4.2', { ca: tls.cert, lookup }));

    // Then the token request is refused at its connection, naming the address
    expect(error).toBeInstanceOf(UpstreamFailed);
    expect(error.message).toBe(
      `token service metadata.example:${port}: metadata.example is at 169.254.169.254, where Slipway does not go: it is a link-local address, and the registry is not on one`,
    );
    expect(seen).toHaveLength(1);
  });
});
