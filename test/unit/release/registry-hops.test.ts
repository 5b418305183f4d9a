import type { AddressKind } from '../../../lib/net/addresses';
import { hopProblem } from '../../../lib/release/registry';

/** Where a registry may send Slipway next (a realm, a redirect), given where the registry itself is. */
const publicRegistry = { scheme: 'https' as const, kinds: new Set<AddressKind>(['public']) };
const loopbackRegistry = { scheme: 'https' as const, kinds: new Set<AddressKind>(['loopback']) };
const privateHttpRegistry = { scheme: 'http' as const, kinds: new Set<AddressKind>(['private']) };

describe('hopProblem', () => {
  it.each([
    ['https://auth.docker.io/token?service=registry.docker.io', publicRegistry],
    ['https://ghcr.io/token', publicRegistry],
    ['https://8.8.8.8/token', publicRegistry],
    ['https://127.0.0.1:5001/token', loopbackRegistry],
    ['https://[::1]:5001/token', loopbackRegistry],
    ['http://10.0.0.5:5000/token', privateHttpRegistry],
    ['https://10.0.0.6/token', privateHttpRegistry],
  ] as const)('lets %s through', (url, registry) => {
    expect(hopProblem(new URL(url), registry)).toBeUndefined();
  });

  it.each([
    ['http://auth.docker.io/token', publicRegistry, 'it is not https'],
    ['http://127.0.0.1/steal', loopbackRegistry, 'it is not https'],
    ['ftp://ghcr.io/token', privateHttpRegistry, 'it is not http or https'],
    ['https://user:pass@ghcr.io/token', publicRegistry, 'it carries credentials'],
    ['https://127.0.0.1/token', publicRegistry, 'it is a loopback address, and the registry is not on one'],
    [
      'https://169.254.169.254/latest/api/token',
      publicRegistry,
      'it is a link-local address, and the registry is not on one',
    ],
    [
      'https://169.254.169.254/latest/api/token',
      loopbackRegistry,
      'it is a link-local address, and the registry is not on one',
    ],
    [
      'https://[fd00:ec2::254]/latest/api/token',
      publicRegistry,
      'it is a private address, and the registry is not on one',
    ],
    ['https://10.0.0.1/token', loopbackRegistry, 'it is a private address, and the registry is not on one'],
    ['https://[::ffff:127.0.0.1]/token', publicRegistry, 'it is a loopback address, and the registry is not on one'],
    ['https://0.0.0.0/token', loopbackRegistry, 'it is an unspecified address, and the registry is not on one'],
    ['https://224.0.0.1/token', publicRegistry, 'it is a reserved address, and the registry is not on one'],
  ] as const)('refuses %s (registry %j): %s', (url, registry, problem) => {
    expect(hopProblem(new URL(url), registry)).toBe(problem);
  });
});
