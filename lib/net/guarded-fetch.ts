import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { type AddressKind, addressKind } from './addresses';

/**
 * GET and HEAD over node:http(s) that connect only to addresses a policy allows. The policy is checked
 * on the addresses the connection itself uses (node's `lookup` hook, and the host of a URL that is an
 * IP literal), never on an earlier, separate resolution that DNS could answer differently the second
 * time (DNS rebinding). Redirects are never followed: the caller sees each 3xx and decides.
 */

/** Name resolution as node's `dns.lookup` with `all: true`; a test passes its own. */
export type Lookup = (
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export const systemLookup: Lookup = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

/** A connection the policy refused: which host, which address, and what that address reaches. */
export class BlockedAddress extends Error {
  readonly code = 'EADDRBLOCKED';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly kind: AddressKind,
  ) {
    super(`${host} is at ${address}, a ${kind} address`);
    this.name = 'BlockedAddress';
  }
}

export interface GuardedFetchOptions {
  /** Whether an address of this kind may be connected to. */
  allows: (kind: AddressKind) => boolean | Promise<boolean>;
  lookup?: Lookup;
  /** For tests: the only CA the TLS connection trusts (node's `ca`). */
  ca?: string | Buffer;
}

type NodeLookup = NonNullable<RequestOptions['lookup']>;

const headersOf = (message: IncomingMessage): Headers => {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
  }
  return headers;
};

// Statuses whose answers have no body (Fetch Standard, "null body status").
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const resolve = options.lookup ?? systemLookup;
  const check = async (host: string, address: string) => {
    const kind = addressKind(address) ?? 'reserved';
    if (!(await options.allows(kind))) throw new BlockedAddress(host, address, kind);
  };

  // The hook node calls to connect: every address it would use is checked before it gets one.
  const lookup = ((hostname: string, lookupOptions: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    resolve(hostname, (error, addresses) => {
      if (error) return callback(error);
      Promise.all(addresses.map(({ address }) => check(hostname, address))).then(
        () => {
          if (addresses.length === 0)
            return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }));
          if (lookupOptions.all) return callback(null, addresses);
          const [first] = addresses as [LookupAddress];
          return callback(null, first.address, first.family);
        },
        (refused: unknown) => callback(refused),
      );
    });
  }) as unknown as NodeLookup;

  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // node does not call `lookup` for an IP literal: it is the address.
    if (addressKind(literal) !== undefined) await check(url.hostname, literal);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolveResponse, reject) => {
      const request = send(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(new Headers(init.headers).entries()),
          lookup,
          ...(init.signal ? { signal: init.signal } : {}),
          ...(options.ca ? { ca: options.ca } : {}),
        },
        (message) => {
          const status = message.statusCode ?? 502;
          const body = NULL_BODY.has(status) ? null : (Readable.toWeb(message) as ReadableStream<Uint8Array>);
          if (body === null) message.resume();
          resolveResponse(new Response(body, { status, headers: headersOf(message) }));
        },
      );
      request.on('error', reject);
      request.end();
    });
  }) as typeof fetch;
}
