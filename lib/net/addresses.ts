import { BlockList, isIP } from 'node:net';

/**
 * What an IP address reaches, for deciding where a credential or a request may go: this machine,
 * a private network, a link (cloud metadata services live at 169.254.169.254), or the internet.
 * Ranges from the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890).
 */

export type AddressKind = 'loopback' | 'private' | 'link-local' | 'unspecified' | 'reserved' | 'public';

const RANGES: ReadonlyArray<[AddressKind, string, number, 'ipv4' | 'ipv6']> = [
  // 0.0.0.0/8 "this network": a connection to 0.0.0.0 reaches this machine on Linux.
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  // Shared address space (RFC 6598): carrier NAT, and some VPC setups.
  ['private', '100.64.0.0', 10, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['reserved', 'ff00::', 8, 'ipv6'],
  ['reserved', '100::', 64, 'ipv6'],
];

const LISTS = new Map<AddressKind, BlockList>();
for (const [kind, network, prefix, family] of RANGES) {
  const list = LISTS.get(kind) ?? new BlockList();
  list.addSubnet(network, prefix, family);
  LISTS.set(kind, list);
}

/** The eight 16-bit groups of an IPv6 address, a trailing dotted IPv4 part included. */
function groupsOf(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (piece: string) => (piece === '' ? [] : piece.split(':').map((group) => Number.parseInt(group, 16)));
  const front = part(head);
  const back = tail === undefined ? [] : part(tail);
  return [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv6 one carries to reach it: IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`. */
function embeddedIpv4(address: string): string | undefined {
  const groups = groupsOf(address);
  const ipv4 = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return ipv4(groups[6] ?? 0, groups[7] ?? 0);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return ipv4(groups[6] ?? 0, groups[7] ?? 0);
  if (groups[0] === 0x2002) return ipv4(groups[1] ?? 0, groups[2] ?? 0);
  return undefined;
}

/** What an IP address (v4 or v6, without brackets) reaches; undefined for anything that is not one. */
export function addressKind(address: string): AddressKind | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  if (family === 6) {
    const ipv4 = embeddedIpv4(address);
    if (ipv4 !== undefined) return addressKind(ipv4);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [kind, list] of LISTS) if (list.check(address, type)) return kind;
  return 'public';
}

/** A URL's hostname (`[::1]` with brackets, as URL gives it) that is this machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || addressKind(host) === 'loopback';
}
