import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, InvalidInput, SlipwayError, Unauthenticated } from '../../../lib/errors';
import {
  deliveryIdOf,
  IgnoredPush,
  parseRegistryPush,
  type RegistryPush,
  requireFreshPush,
  verifySignature,
} from '../../../lib/release/webhooks';
import { thrown } from '../../support/thrown';

const SECRET = 'whsec-test-9f8e7d6c5b4a';
const OLD_SECRET = 'whsec-test-retired-0a1b2c';
const NOW = new Date('2025-11-22T03:00:00Z');
const T = NOW.getTime() / 1000;
const BODY = Buffer.from('{"repository":"registry.example.com/team/shop-backend","tag":"1.4.2"}');
const DIGEST = `sha256:${'3f2a1c9e'.repeat(8)}`;

const hex = (secret: string, ...parts: Array<string | Buffer>) => {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest('hex');
};
const slipwayHeader = (t: number | string, body: Buffer = BODY, secret = SECRET) =>
  `t=${t},sha256=${hex(secret, `${t}.`, body)}`;

const BOTH = ['slipway', 'github'] as const;
const verify = (headers: Record<string, string>, rawBody: Buffer = BODY, secret = SECRET) =>
  verifySignature({ rawBody, headers, secret, now: NOW, toleranceSeconds: 300, schemes: BOTH });

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(`test/fixtures/webhooks/${name}.json`, 'utf8'));

describe('verifySignature with X-Slipway-Signature', () => {
  it('accepts a signature computed independently (openssl dgst -sha256 -hmac)', () => {
    // Given a header whose HMAC was computed outside this code base over "<t>.<body>"
    const headers = {
      'x-slipway-signature': 't=1763780400,sha256=58291674c36dc3d6d27dcdcb66c146e69ce3c8b6a71627ab0f32a83f15a4fd50',
    };

    // When it is verified
    const result = verify(headers);

    // Then the scheme is named
    expect(result).toEqual({ scheme: 'slipway' });
  });

  it.each([
    ['300 s old', T - 300],
    ['300 s ahead', T + 300],
  ])('accepts a timestamp exactly at the edge of the tolerance (%s)', (_, t) => {
    expect(verify({ 'x-slipway-signature': slipwayHeader(t) })).toEqual({ scheme: 'slipway' });
  });

  it('refuses a body changed after signing, even only in its whitespace', () => {
    // Given a signature over the body as sent
    const headers = { 'x-slipway-signature': slipwayHeader(T) };
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 2));

    // When the body checked is re-serialised JSON with the same meaning
    const error = thrown<unknown>(() => verify(headers, reformatted));

    // Then it does not match: only the exact bytes are signed
    expect(error).toBeInstanceOf(Unauthenticated);
    expect(error).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      message: 'X-Slipway-Signature does not match: the body was changed or signed with another secret',
    });
  });

  it('refuses a body signed with another secret', () => {
    const error = thrown<unknown>(() => verify({ 'x-slipway-signature': slipwayHeader(T, BODY, 'not-the-secret') }));

    expect(error).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'X-Slipway-Signature does not match: the body was changed or signed with another secret',
    });
  });

  it.each([
    ['301 s old', T - 301],
    ['301 s ahead', T + 301],
    ['a day old', T - 86_400],
  ])('refuses a correctly signed request whose timestamp is %s', (_, t) => {
    // Given a valid signature whose timestamp is outside the tolerance
    const headers = { 'x-slipway-signature': slipwayHeader(t) };

    // When it is verified
    const error = thrown<unknown>(() => verify(headers));

    // Then it is refused as a possible replay
    expect(error).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'signature timestamp is outside the 300 s tolerance; the request may be a replay',
    });
  });

  it('names the configured tolerance', () => {
    const error = thrown<unknown>(() =>
      verifySignature({
        rawBody: BODY,
        headers: { 'x-slipway-signature': slipwayHeader(T - 61) },
        secret: SECRET,
        now: NOW,
        toleranceSeconds: 60,
        schemes: BOTH,
      }),
    );

    expect(error).toMatchObject({
      message: 'signature timestamp is outside the 60 s tolerance; the request may be a replay',
    });
  });

  it.each([
    ['no t', `sha256=${hex(SECRET, `${T}.`, BODY)}`],
    ['an empty t', `t=,sha256=${hex(SECRET, '.', BODY)}`],
    ['a t that is not a number', `t=yesterday,sha256=${hex(SECRET, 'yesterday.', BODY)}`],
    ['a fractional t', `t=${T}.5,sha256=${hex(SECRET, `${T}.5.`, BODY)}`],
    ['a negative t', `t=-${T},sha256=${hex(SECRET, `-${T}.`, BODY)}`],
    ['two t values', `t=${T},t=${T + 1},sha256=${hex(SECRET, `${T}.`, BODY)}`],
    ['an empty header', ''],
  ])('refuses a header with %s', (_, header) => {
    const error = thrown<unknown>(() => verify({ 'x-slipway-signature': header }));

    expect(error).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'X-Slipway-Signature has no valid timestamp: expected t=<unix seconds>',
    });
  });

  it('refuses a header with a timestamp and no sha256 value', () => {
    const error = thrown<unknown>(() => verify({ 'x-slipway-signature': `t=${T}` }));

    expect(error).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'X-Slipway-Signature has no sha256=<hex> value',
    });
  });

  it.each([
    ['the current secret first', [SECRET, OLD_SECRET]],
    ['the current secret second', [OLD_SECRET, SECRET]],
  ])('accepts two sha256 values during a key rotation, with %s', (_, secrets) => {
    // Given a sender signing with both the retired and the current secret
    const values = secrets.map((secret) => `sha256=${hex(secret, `${T}.`, BODY)}`);
    const headers = { 'x-slipway-signature': `t=${T},${values.join(',')}` };

    // When it is verified with the current secret, Then one match is enough
    expect(verify(headers)).toEqual({ scheme: 'slipway' });
  });

  it('refuses two sha256 values when neither matches', () => {
    const values = ['a-retired-secret', OLD_SECRET].map((secret) => `sha256=${hex(secret, `${T}.`, BODY)}`);

    const error = thrown<unknown>(() => verify({ 'x-slipway-signature': `t=${T},${values.join(',')}` }));

    expect(error).toMatchObject({
      message: 'X-Slipway-Signature does not match: the body was changed or signed with another secret',
    });
  });

  it.each([
    ['a truncated digest', (digest: string) => digest.slice(0, 63)],
    ['a digest with an extra byte', (digest: string) => `${digest}00`],
    ['a digest that is not hex', (digest: string) => `${digest.slice(0, 63)}z`],
  ])('refuses %s as a mismatch rather than failing to compare', (_, spoil) => {
    const header = `t=${T},sha256=${spoil(hex(SECRET, `${T}.`, BODY))}`;

    const error = thrown<unknown>(() => verify({ 'x-slipway-signature': header }));

    expect(error).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'X-Slipway-Signature does not match: the body was changed or signed with another secret',
    });
  });

  it('ignores parts it does not know, so that senders may add schemes later', () => {
    const header = `t=${T},v0=${'ab'.repeat(32)},tt,sha256=${hex(SECRET, `${T}.`, BODY)}`;

    expect(verify({ 'x-slipway-signature': header })).toEqual({ scheme: 'slipway' });
  });

  it('accepts spaces around the parts and a digest in capitals', () => {
    const header = ` t=${T} , sha256=${hex(SECRET, `${T}.`, BODY).toUpperCase()} `;

    expect(verify({ 'x-slipway-signature': header })).toEqual({ scheme: 'slipway' });
  });

  it('signs the raw bytes, not a decoded string: a UTF-8 body with non-ASCII text verifies', () => {
    const body = Buffer.from('{"repository":"registry.example.com/team/café","tag":"1.4.2"}', 'utf8');

    expect(verify({ 'x-slipway-signature': slipwayHeader(T, body) }, body)).toEqual({ scheme: 'slipway' });
  });

  it('looks only at X-Slipway-Signature when both headers are sent, so a timestamp cannot be dropped', () => {
    // Given a stale Slipway signature next to a valid GitHub one
    const headers = {
      'x-slipway-signature': slipwayHeader(T - 3_600),
      'x-hub-signature-256': `sha256=${hex(SECRET, BODY)}`,
    };

    // When it is verified
    const error = thrown<unknown>(() => verify(headers));

    // Then the Slipway header decides, and the request is refused
    expect(error).toMatchObject({
      message: 'signature timestamp is outside the 300 s tolerance; the request may be a replay',
    });
  });
});

describe('verifySignature with X-Hub-Signature-256', () => {
  it("accepts GitHub's documented test vector", () => {
    // Given the secret, payload and signature from GitHub's "Validating webhook deliveries"
    const headers = {
      'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    };

    // When it is verified
    const result = verify(headers, Buffer.from('Hello, World!'), "It's a Secret to Everybody");

    // Then it is GitHub's scheme
    expect(result).toEqual({ scheme: 'github' });
  });

  it('accepts the digest in capitals, as the Slipway header does', () => {
    const header = 'sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17';

    expect(
      verify({ 'x-hub-signature-256': header }, Buffer.from('Hello, World!'), "It's a Secret to Everybody"),
    ).toEqual({ scheme: 'github' });
  });

  it('accepts a fixture payload signed over its raw bytes', () => {
    const body = readFileSync('test/fixtures/webhooks/ghcr.package-published.json');

    expect(verify({ 'x-hub-signature-256': `sha256=${hex(SECRET, body)}` }, body)).toEqual({ scheme: 'github' });
  });

  it.each([
    ['a changed body', `sha256=${hex(SECRET, Buffer.from('{"action":"published"}'))}`, SECRET],
    ['another secret', `sha256=${hex('not-the-secret', BODY)}`, SECRET],
  ])('refuses a signature over %s', (_, header, secret) => {
    const error = thrown<unknown>(() => verify({ 'x-hub-signature-256': header }, BODY, secret));

    expect(error).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      message: 'X-Hub-Signature-256 does not match: the body was changed or signed with another secret',
    });
  });

  it.each([
    ['no sha256= prefix', hex(SECRET, BODY)],
    ['the SHA-1 prefix', `sha1=${hex(SECRET, BODY)}`],
    ['a truncated digest', `sha256=${hex(SECRET, BODY).slice(0, 40)}`],
    ['two values', `sha256=${hex(SECRET, BODY)},sha256=${hex(SECRET, BODY)}`],
  ])('refuses a header with %s as malformed', (_, header) => {
    const error = thrown<unknown>(() => verify({ 'x-hub-signature-256': header }));

    expect(error).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'X-Hub-Signature-256 is malformed: expected sha256=<64 hex digits>',
    });
  });
});

describe('verifySignature with only some schemes accepted (webhooks.schemes)', () => {
  const only = (schemes: ReadonlyArray<'slipway' | 'github'>, headers: Record<string, string>) =>
    thrown<unknown>(() =>
      verifySignature({ rawBody: BODY, headers, secret: SECRET, now: NOW, toleranceSeconds: 300, schemes }),
    );

  it("refuses GitHub's scheme, correctly signed, when the operator turned it off", () => {
    // Given a config with schemes: [slipway] and a delivery GitHub signed with the right key
    const headers = { 'x-hub-signature-256': `sha256=${hex(SECRET, BODY)}` };

    // When it is verified
    const error = only(['slipway'], headers);

    // Then it is a 401 naming the key that refuses it
    expect(error).toBeInstanceOf(Unauthenticated);
    expect(error).toMatchObject({
      status: 401,
      message: 'X-Hub-Signature-256 is not accepted: webhooks.schemes allows X-Slipway-Signature only',
    });
  });

  it('refuses the Slipway scheme when only github is accepted, and names what is', () => {
    expect(only(['github'], { 'x-slipway-signature': slipwayHeader(T) })).toMatchObject({
      message: 'X-Slipway-Signature is not accepted: webhooks.schemes allows X-Hub-Signature-256 only',
    });
    expect(only(['slipway'], {})).toMatchObject({ message: 'a signed request is required: X-Slipway-Signature' });
  });

  it('does not fall back to GitHub when a Slipway header is sent to a config that refuses it', () => {
    // Given both headers, the GitHub one valid, and only github accepted
    const headers = { 'x-slipway-signature': slipwayHeader(T), 'x-hub-signature-256': `sha256=${hex(SECRET, BODY)}` };

    // Then the Slipway header still decides
    expect(only(['github'], headers)).toMatchObject({ message: expect.stringMatching(/^X-Slipway-Signature is not/) });
  });
});

describe('deliveryIdOf (X-GitHub-Delivery)', () => {
  const GUID = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

  it("reads GitHub's documented example, and lower-cases one sent in capitals", () => {
    expect(deliveryIdOf({ 'x-github-delivery': GUID }, 'github')).toBe(GUID);
    expect(deliveryIdOf({ 'x-github-delivery': GUID.toUpperCase() }, 'github')).toBe(GUID);
  });

  it('is required with GitHub scheme, and optional with the Slipway one', () => {
    expect(thrown<unknown>(() => deliveryIdOf({}, 'github'))).toMatchObject({
      status: 400,
      message:
        'headers.x-github-delivery: is required with X-Hub-Signature-256: expected a GUID such as 72d3162e-cc78-11e3-81ab-4c9367dc0958',
      details: [{ location: 'headers', field: 'x-github-delivery' }],
    });
    expect(deliveryIdOf({}, 'slipway')).toBeUndefined();
    expect(deliveryIdOf({ 'x-github-delivery': GUID }, 'slipway')).toBe(GUID);
  });

  it.each([
    ['empty', ''],
    ['not a GUID', 'delivery-1'],
    ['a GUID without hyphens', GUID.replaceAll('-', '')],
    ['a GUID in braces', `{${GUID}}`],
    ['a GUID with a suffix', `${GUID}#2`],
    ['absurdly long', GUID.repeat(3_000)],
  ])('refuses a delivery id that is %s with a 400 naming the header, under either scheme', (_, id) => {
    for (const scheme of ['github', 'slipway'] as const) {
      const error = thrown<unknown>(() => deliveryIdOf({ 'x-github-delivery': id }, scheme));
      expect(error).toBeInstanceOf(InvalidInput);
      expect((error as InvalidInput).message).toBe(
        'headers.x-github-delivery: expected a GUID such as 72d3162e-cc78-11e3-81ab-4c9367dc0958',
      );
    }
  });
});

describe('requireFreshPush', () => {
  const ghcr: RegistryPush = {
    registry: 'ghcr',
    repository: 'ghcr.io/acme-corp/shop-backend',
    tag: '1.4.2',
    digest: DIGEST,
    pushedAt: '2025-11-22T02:55:00.000Z',
  };
  const fresh = (push: RegistryPush, scheme: 'github' | 'slipway' = 'github') =>
    requireFreshPush(push, scheme, NOW, 300);

  it('takes a GitHub package event whose package.updated_at is within the tolerance, either side', () => {
    expect(() => fresh(ghcr)).not.toThrow();
    expect(() => fresh({ ...ghcr, pushedAt: '2025-11-22T03:05:00.000Z' })).not.toThrow();
  });

  it.each([
    ['a second too old', '2025-11-22T02:54:59.000Z'],
    ['25 hours old, past the release idempotency window', '2025-11-21T02:00:00.000Z'],
    ['a second too far ahead', '2025-11-22T03:05:01.000Z'],
  ])('refuses a GitHub delivery whose push time is %s, as a possible replay', (_, pushedAt) => {
    const error = thrown<unknown>(() => fresh({ ...ghcr, pushedAt }));

    expect(error).toBeInstanceOf(Unauthenticated);
    expect(error).toMatchObject({
      status: 401,
      message: `package.updated_at ${pushedAt} is outside the 300 s tolerance; the delivery may be a replay`,
    });
  });

  it('refuses a GitHub delivery without a push time', () => {
    const { pushedAt: _, ...undated } = ghcr;

    expect(thrown<unknown>(() => fresh(undated))).toMatchObject({
      status: 401,
      message:
        'package.updated_at is missing or not a time: X-Hub-Signature-256 signs no time, so the push must carry its own',
    });
  });

  it.each<[string, RegistryPush]>([
    ['generic', { registry: 'generic', repository: 'registry.example.com/team/app', tag: '1.4.2' }],
    ['dockerhub', { registry: 'dockerhub', repository: 'docker.io/acme/app', tag: '1.4.2', pushedAt: ghcr.pushedAt }],
  ])('refuses a %s push signed with GitHub scheme, which dates nothing of its own', (_, push) => {
    expect(thrown<unknown>(() => fresh(push))).toMatchObject({
      status: 401,
      message:
        'X-Hub-Signature-256 is accepted for GitHub package events only, whose package.updated_at dates the push: sign other pushes with X-Slipway-Signature',
    });
  });

  it('leaves the Slipway scheme to its own timestamp', () => {
    expect(() => fresh({ ...ghcr, pushedAt: '2020-01-01T00:00:00.000Z' }, 'slipway')).not.toThrow();
    expect(() => fresh({ registry: 'generic', repository: 'registry.example.com/team/app' }, 'slipway')).not.toThrow();
  });
});

describe('verifySignature without a usable signature', () => {
  it.each([
    ['no headers', {}],
    ["only GitHub's legacy SHA-1 header", { 'x-hub-signature': `sha1=${'ab'.repeat(20)}` }],
    ['the header name in its original case, which the caller must lower-case', { 'X-Slipway-Signature': 't=1' }],
  ])('is 401 with %s', (_, headers: Record<string, string>) => {
    const error = thrown<unknown>(() => verify(headers));

    expect(error).toBeInstanceOf(Unauthenticated);
    expect(error).toMatchObject({
      status: 401,
      message: 'a signed request is required: X-Slipway-Signature or X-Hub-Signature-256',
    });
  });

  it('is a configuration fault, not a 401, when the secret is empty', () => {
    // Given a deployment whose webhook secret resolved to nothing
    const headers = { 'x-hub-signature-256': `sha256=${hex('', BODY)}` };

    // When a request signed with the empty key arrives
    const error = thrown<unknown>(() => verify(headers, BODY, ''));

    // Then nothing is accepted, and the fault is the server's
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ status: 500, message: 'the registry webhook secret is empty' });
  });

  it('never puts the secret or the expected digest in a message', () => {
    // Given every kind of refusal, with the digest the server expected at hand
    const expectedSlipway = hex(SECRET, `${T}.`, BODY);
    const expectedGitHub = hex(SECRET, BODY);
    const refusals = [
      {} as Record<string, string>,
      { 'x-slipway-signature': `t=${T},sha256=${'0'.repeat(64)}` },
      { 'x-slipway-signature': slipwayHeader(T - 301) },
      { 'x-slipway-signature': `t=${T}` },
      { 'x-slipway-signature': 'sha256=00' },
      { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      { 'x-hub-signature-256': 'garbage' },
    ].map((headers) => thrown<unknown>(() => verify(headers)) as SlipwayError);

    // Then no message, detail or cause carries either
    expect(refusals).toHaveLength(7);
    for (const error of refusals) {
      expect(error).toBeInstanceOf(Unauthenticated);
      const told = JSON.stringify({ message: error.message, details: error.details, cause: String(error.cause) });
      expect(told).not.toContain(SECRET);
      expect(told).not.toContain(expectedSlipway);
      expect(told).not.toContain(expectedGitHub);
    }
  });
});

describe('parseRegistryPush from Docker Hub', () => {
  it('reads the fixture: docker.io repository, tag, push time, and no digest', () => {
    // Given Docker Hub's payload, which has no event header
    const body = fixture('dockerhub.push');

    // When it is parsed
    const push = parseRegistryPush(body, {});

    // Then the repository is qualified with docker.io and the unix time becomes ISO
    expect(push).toStrictEqual({
      registry: 'dockerhub',
      repository: 'docker.io/acme/shop-backend',
      tag: '1.4.2',
      pushedAt: '2025-11-22T03:00:00.000Z',
    });
  });

  it('keeps an official image under library/ as given', () => {
    const body = fixture('dockerhub.push');
    body.repository = { repo_name: 'library/nginx', namespace: 'library', name: 'nginx', is_official: true };

    expect(parseRegistryPush(body, {}).repository).toBe('docker.io/library/nginx');
  });

  it('leaves pushedAt out when Docker Hub sends no push time', () => {
    const push = parseRegistryPush({ push_data: { tag: 'latest' }, repository: { repo_name: 'acme/shop' } }, {});

    expect(push).toStrictEqual({ registry: 'dockerhub', repository: 'docker.io/acme/shop', tag: 'latest' });
  });

  type DockerHubPush = { push_data: Record<string, unknown>; repository?: Record<string, unknown> };
  it.each<[string, (body: DockerHubPush) => void, string]>([
    [
      'a tag outside Docker grammar',
      (body) => {
        body.push_data.tag = 'latest!';
      },
      'body.push_data.tag: expected an image tag such as 1.4.2 or develop-3f2a1c',
    ],
    [
      'no tag',
      (body) => {
        delete body.push_data.tag;
      },
      'body.push_data.tag: is required: expected an image tag',
    ],
    [
      'a push time that is a string',
      (body) => {
        body.push_data.pushed_at = '2025-11-22T03:00:00Z';
      },
      'body.push_data.pushed_at: expected unix seconds',
    ],
    [
      'a push time past the year 9999',
      (body) => {
        body.push_data.pushed_at = 1e15;
      },
      'body.push_data.pushed_at: expected unix seconds',
    ],
    [
      'a repository without its namespace',
      (body) => {
        body.repository = { ...body.repository, repo_name: 'shop-backend' };
      },
      'body.repository.repo_name: expected a Docker Hub repository such as acme/shop',
    ],
    [
      'a repository in capitals',
      (body) => {
        body.repository = { ...body.repository, repo_name: 'Acme/Shop-Backend' };
      },
      'body.repository.repo_name: expected a Docker Hub repository such as acme/shop',
    ],
    [
      'no repository',
      (body) => {
        delete body.repository;
      },
      'body.repository: is required: expected the repository',
    ],
  ])('is 400 for %s, naming the field', (_, spoil, message) => {
    // Given the fixture with one field spoiled
    const body = fixture('dockerhub.push') as unknown as DockerHubPush;
    spoil(body);

    // When it is parsed
    const error = thrown<unknown>(() => parseRegistryPush(body, {}));

    // Then the message names the field and what was expected
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_INPUT', message });
  });

  it('is 400 when push_data is not an object, with the issue in details', () => {
    const error = thrown<unknown>(() =>
      parseRegistryPush({ push_data: null, repository: { repo_name: 'acme/shop' } }, {}),
    );

    expect(error).toMatchObject({
      message: 'body.push_data: expected the push details',
      details: [{ location: 'body', field: 'push_data', message: 'expected the push details' }],
    });
  });
});

describe('parseRegistryPush from GitHub (package event)', () => {
  const PACKAGE = { 'x-github-event': 'package', 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
  type PackageEvent = {
    action: string;
    package: {
      package_type: string;
      package_version: { container_metadata: { tag: { name: string; digest: string } } } | null;
    } & Record<string, unknown>;
  };
  const published = () => fixture('ghcr.package-published') as unknown as PackageEvent;
  const FIXTURE_DIGEST = 'sha256:9b2a6c1f0d4e8a7b3c5d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b';

  it('reads the fixture: ghcr.io repository in lower case, tag, digest and push time', () => {
    // Given a publish of a container version by an owner whose login has capitals
    const body = published();

    // When it is parsed
    const push = parseRegistryPush(body, PACKAGE);

    // Then the repository is lower-cased, as ghcr.io addresses it
    expect(push).toStrictEqual({
      registry: 'ghcr',
      repository: 'ghcr.io/acme-corp/shop-backend',
      tag: '1.4.2',
      digest: FIXTURE_DIGEST,
      pushedAt: '2026-11-22T03:00:00.000Z',
    });
  });

  it('recognises the shape without the event header', () => {
    expect(parseRegistryPush(published(), {}).registry).toBe('ghcr');
  });

  it('accepts the package type in lower case, as the REST API spells it', () => {
    const body = published();
    body.package.package_type = 'container';

    expect(parseRegistryPush(body, PACKAGE).digest).toBe(FIXTURE_DIGEST);
  });

  it('reads an untagged version as a digest without a tag', () => {
    const body = published();
    if (body.package.package_version) body.package.package_version.container_metadata.tag.name = '';

    expect(parseRegistryPush(body, PACKAGE)).toStrictEqual({
      registry: 'ghcr',
      repository: 'ghcr.io/acme-corp/shop-backend',
      digest: FIXTURE_DIGEST,
      pushedAt: '2026-11-22T03:00:00.000Z',
    });
  });

  it('leaves pushedAt out when the package has no usable updated_at', () => {
    const body = published();
    body.package.updated_at = 'recently';

    expect(parseRegistryPush(body, PACKAGE)).not.toHaveProperty('pushedAt');
  });

  it.each<[string, (body: PackageEvent) => void, Record<string, string>, string]>([
    [
      'an updated (not published) version',
      (body) => {
        body.action = 'updated';
      },
      PACKAGE,
      'GitHub package event action "updated" is not a publish',
    ],
    [
      'an npm package',
      (body) => {
        body.package.package_type = 'npm';
      },
      PACKAGE,
      'GitHub package type "npm" is not a container image',
    ],
    [
      'an image in the retired docker.pkg.github.com registry',
      (body) => {
        body.package.package_type = 'docker';
      },
      PACKAGE,
      'GitHub package type "docker" is not a container image',
    ],
    [
      'another GitHub event',
      () => undefined,
      { 'x-github-event': 'push' },
      'GitHub event "push" is not a package event',
    ],
  ])('ignores %s with IgnoredPush, not an error', (_, change, headers, reason) => {
    // Given a genuine delivery that announces nothing to deploy
    const body = published();
    change(body);

    // When it is parsed
    const error = thrown<unknown>(() => parseRegistryPush(body, headers));

    // Then it is told apart from a bad request, with the reason
    expect(error).toBeInstanceOf(IgnoredPush);
    expect(error).not.toBeInstanceOf(SlipwayError);
    expect(error).toMatchObject({ reason, message: reason });
  });

  it("ignores GitHub's ping", () => {
    // Given the ping GitHub sends when a webhook is created
    const ping = {
      zen: 'Anything added dilutes everything else.',
      hook_id: 109948940,
      hook: { type: 'Organization', id: 109948940, name: 'web', active: true, events: ['package'] },
    };

    // When it is parsed
    const error = thrown<unknown>(() => parseRegistryPush(ping, { 'x-github-event': 'ping' }));

    // Then there is nothing to deploy
    expect(error).toBeInstanceOf(IgnoredPush);
    expect((error as IgnoredPush).reason).toBe('GitHub ping event: the webhook is connected; nothing to deploy');
  });

  it.each<[string, (body: PackageEvent) => void, string]>([
    [
      'a digest shorter than sha256',
      (body) => {
        if (body.package.package_version) {
          body.package.package_version.container_metadata.tag.digest =
            'sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b';
        }
      },
      'body.package.package_version.container_metadata.tag.digest: expected an image digest sha256:<64 hex digits>',
    ],
    [
      'a tag outside Docker grammar',
      (body) => {
        if (body.package.package_version) body.package.package_version.container_metadata.tag.name = 'release 1';
      },
      'body.package.package_version.container_metadata.tag.name: expected an image tag such as 1.4.2 or develop-3f2a1c',
    ],
    [
      'no package version',
      (body) => {
        body.package.package_version = null;
      },
      'body.package.package_version: expected the published version',
    ],
    [
      'no owner',
      (body) => {
        delete body.package.owner;
      },
      'body.package.owner: is required: expected the package owner',
    ],
    [
      'no action',
      (body) => {
        delete (body as Partial<PackageEvent>).action;
      },
      'body.action: is required: expected a package event action',
    ],
  ])('is 400 for a publish with %s', (_, spoil, message) => {
    const body = published();
    spoil(body);

    const error = thrown<unknown>(() => parseRegistryPush(body, PACKAGE));

    expect(error).toBeInstanceOf(InvalidInput);
    expect(error).toMatchObject({ status: 400, message });
  });
});

describe('parseRegistryPush in the generic form', () => {
  it('reads the fixture as given', () => {
    expect(parseRegistryPush(fixture('generic'), {})).toStrictEqual({
      registry: 'generic',
      repository: 'registry.example.com/team/shop-backend',
      tag: '1.4.2',
      digest: `sha256:${'3f2a1c9e'.repeat(8)}`,
    });
  });

  it.each([
    ['a tag only', { repository: 'registry.example.com/team/app', tag: 'develop-3f2a1c' }],
    ['a digest only', { repository: 'registry.example.com/team/app', digest: DIGEST }],
    ['a registry on a port', { repository: '127.0.0.1:5000/team/app', tag: '1.4.2' }],
    ['localhost', { repository: 'localhost/app', tag: '1.4.2' }],
    ['a deep path', { repository: 'registry.example.com/a/b/c_d/e__f/g-h', tag: '1.4.2' }],
  ])('accepts %s', (_, body) => {
    expect(parseRegistryPush(body, {})).toStrictEqual({ registry: 'generic', ...body });
  });

  it.each<[string, unknown, string]>([
    [
      'neither tag nor digest',
      { repository: 'registry.example.com/team/app' },
      'body.tag: is required: give a tag, a digest or both',
    ],
    [
      'a tag inside the repository',
      { repository: 'registry.example.com/team/app:1.4.2', tag: '1.4.2' },
      'body.repository: expected an image repository with its registry host and no tag or digest, such as registry.example.com/team/app',
    ],
    [
      'a digest inside the repository',
      { repository: `registry.example.com/team/app@${DIGEST}`, digest: DIGEST },
      'body.repository: expected an image repository with its registry host and no tag or digest, such as registry.example.com/team/app',
    ],
    [
      'a repository without a registry host',
      { repository: 'team/app', tag: '1.4.2' },
      'body.repository: expected an image repository with its registry host and no tag or digest, such as registry.example.com/team/app',
    ],
    [
      'a repository path in capitals',
      { repository: 'registry.example.com/Team/App', tag: '1.4.2' },
      'body.repository: expected an image repository with its registry host and no tag or digest, such as registry.example.com/team/app',
    ],
    [
      'a URL instead of a repository',
      { repository: 'https://registry.example.com/team/app', tag: '1.4.2' },
      'body.repository: expected an image repository with its registry host and no tag or digest, such as registry.example.com/team/app',
    ],
    [
      'a tag of 129 characters',
      { repository: 'registry.example.com/team/app', tag: `v${'1'.repeat(128)}` },
      'body.tag: expected an image tag such as 1.4.2 or develop-3f2a1c',
    ],
    [
      'a digest in capitals',
      { repository: 'registry.example.com/team/app', digest: DIGEST.toUpperCase() },
      'body.digest: expected an image digest sha256:<64 hex digits>',
    ],
    ['no repository', { tag: '1.4.2' }, 'body.repository: is required: expected an image repository'],
    [
      'a field Slipway does not know',
      { repository: 'registry.example.com/team/app', tag: '1.4.2', callback: 'https://example.com' },
      'body: unknown field(s) callback',
    ],
    ['null', null, 'body: expected a JSON object'],
    ['an array', [{ repository: 'registry.example.com/team/app', tag: '1.4.2' }], 'body: expected a JSON object'],
    ['a string', 'registry.example.com/team/app:1.4.2', 'body: expected a JSON object'],
  ])('is 400 for %s, naming the field', (_, body, message) => {
    const error = thrown<unknown>(() => parseRegistryPush(body, {}));

    expect(error).toBeInstanceOf(InvalidInput);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_INPUT', message });
  });
});
