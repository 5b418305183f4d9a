import * as z from 'zod/mini';
import { hmacSha256, sameDigest } from '../auth/hmac';
import { ConfigError, InvalidInput, Unauthenticated } from '../errors';
import '../errors/validation';

/**
 * Image pushes from registries other than ECR, as `POST /v1/webhooks/registry` receives them: who signed the
 * request, and which image it announces.
 */

export interface RegistryPush {
  registry: 'dockerhub' | 'ghcr' | 'generic';
  /** Registry host and path, without tag or digest: `docker.io/acme/shop`, `ghcr.io/acme/shop`. */
  repository: string;
  tag?: string;
  digest?: string;
  /** ISO 8601. */
  pushedAt?: string;
}

/** A genuine, well-formed delivery that announces nothing to deploy; the route answers it with 202. */
export class IgnoredPush extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.name = 'IgnoredPush';
    this.reason = reason;
  }
}

const UNIX_SECONDS = /^[0-9]{1,12}$/;

function verifySlipway(header: string, rawBody: Buffer, secret: string, now: Date, toleranceSeconds: number): void {
  const timestamps: string[] = [];
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't') timestamps.push(value);
    else if (key === 'sha256') signatures.push(value);
  }
  const [timestamp] = timestamps;
  if (timestamps.length !== 1 || timestamp === undefined || !UNIX_SECONDS.test(timestamp)) {
    throw new Unauthenticated('X-Slipway-Signature has no valid timestamp: expected t=<unix seconds>');
  }
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > toleranceSeconds) {
    throw new Unauthenticated(
      `signature timestamp is outside the ${toleranceSeconds} s tolerance; the request may be a replay`,
    );
  }
  if (signatures.length === 0) {
    throw new Unauthenticated('X-Slipway-Signature has no sha256=<hex> value');
  }
  // The timestamp is signed exactly as sent, so a sender's leading zeros cannot change what was signed.
  const expected = hmacSha256(secret, `${timestamp}.`, rawBody);
  let matched = false;
  // Every value is compared, so the time taken does not tell which of the rotated secrets matched.
  for (const signature of signatures) matched = sameDigest(expected, signature) || matched;
  if (!matched) {
    throw new Unauthenticated('X-Slipway-Signature does not match: the body was changed or signed with another secret');
  }
}

function verifyGitHub(header: string, rawBody: Buffer, secret: string): void {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match?.[1]) {
    throw new Unauthenticated('X-Hub-Signature-256 is malformed: expected sha256=<64 hex digits>');
  }
  if (!sameDigest(hmacSha256(secret, rawBody), match[1])) {
    throw new Unauthenticated('X-Hub-Signature-256 does not match: the body was changed or signed with another secret');
  }
}

/** X-Slipway-Signature (with a timestamp) and GitHub's X-Hub-Signature-256 (without one). */
export const SIGNATURE_SCHEMES = ['slipway', 'github'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

const SCHEME_HEADERS: Record<SignatureScheme, string> = {
  slipway: 'X-Slipway-Signature',
  github: 'X-Hub-Signature-256',
};

/**
 * Checks that a delivery was signed with the webhook secret, over the exact bytes received, in one of
 * the schemes `webhooks.schemes` accepts. `headers` has lower-cased names. X-Slipway-Signature, when
 * present, is the only one looked at: a sender able to sign with a timestamp must not be downgraded to
 * GitHub's scheme, which has none.
 */
export function verifySignature(input: {
  rawBody: Buffer;
  headers: Record<string, string>;
  secret: string;
  now: Date;
  toleranceSeconds: number;
  schemes: readonly SignatureScheme[];
}): { scheme: SignatureScheme } {
  // An empty key is one anybody can sign with.
  if (input.secret === '') throw new ConfigError('the registry webhook secret is empty');
  const slipway = input.headers['x-slipway-signature'];
  const github = input.headers['x-hub-signature-256'];
  const scheme: SignatureScheme | undefined =
    slipway !== undefined ? 'slipway' : github !== undefined ? 'github' : undefined;
  if (scheme === undefined || !input.schemes.includes(scheme)) {
    const accepted = input.schemes.map((one) => SCHEME_HEADERS[one]).join(' or ');
    throw new Unauthenticated(
      scheme === undefined
        ? `a signed request is required: ${accepted}`
        : `${SCHEME_HEADERS[scheme]} is not accepted: webhooks.schemes allows ${accepted} only`,
    );
  }
  if (scheme === 'slipway') {
    verifySlipway(slipway as string, input.rawBody, input.secret, input.now, input.toleranceSeconds);
  } else {
    verifyGitHub(github as string, input.rawBody, input.secret);
  }
  return { scheme };
}

// GitHub's delivery GUIDs are UUIDs (its documented example: 72d3162e-cc78-11e3-81ab-4c9367dc0958).
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DELIVERY_MESSAGE = 'expected a GUID such as 72d3162e-cc78-11e3-81ab-4c9367dc0958';

/**
 * The delivery's X-GitHub-Delivery, lower-cased, which a redelivery keeps (GitHub Docs, "Best practices for
 * using webhooks": "If you request a redelivery, the X-GitHub-Delivery header will be the same as in the
 * original delivery"). Required with GitHub's scheme, whose signature carries no time; read under the
 * Slipway scheme when a relay passes it on.
 */
export function deliveryIdOf(headers: Record<string, string>, scheme: SignatureScheme): string | undefined {
  const id = headers['x-github-delivery'];
  if (id === undefined && scheme === 'slipway') return undefined;
  if (id === undefined || !GUID.test(id)) {
    const message = id === undefined ? `is required with X-Hub-Signature-256: ${DELIVERY_MESSAGE}` : DELIVERY_MESSAGE;
    throw new InvalidInput(`headers.x-github-delivery: ${message}`, {
      details: [{ location: 'headers', field: 'x-github-delivery', message }],
    });
  }
  return id.toLowerCase();
}

/**
 * GitHub's scheme signs no time, so a captured delivery verifies for ever: one is taken only for a GitHub
 * package event whose push time (`package.updated_at`, which the signature covers) is within the tolerance
 * of now. The Slipway scheme's own timestamp already is.
 */
export function requireFreshPush(
  push: RegistryPush,
  scheme: SignatureScheme,
  now: Date,
  toleranceSeconds: number,
): void {
  if (scheme !== 'github') return;
  if (push.registry !== 'ghcr') {
    throw new Unauthenticated(
      'X-Hub-Signature-256 is accepted for GitHub package events only, whose package.updated_at dates the push: sign other pushes with X-Slipway-Signature',
    );
  }
  if (push.pushedAt === undefined) {
    throw new Unauthenticated(
      'package.updated_at is missing or not a time: X-Hub-Signature-256 signs no time, so the push must carry its own',
    );
  }
  if (Math.abs(now.getTime() - Date.parse(push.pushedAt)) > toleranceSeconds * 1000) {
    throw new Unauthenticated(
      `package.updated_at ${push.pushedAt} is outside the ${toleranceSeconds} s tolerance; the delivery may be a replay`,
    );
  }
}

// Docker's reference grammar (distribution/reference): lower-case path components joined by `/`.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOCKER_HUB_NAME = new RegExp(`^${PATH_COMPONENT}/${PATH_COMPONENT}$`);
// GitHub logins and package names may carry capitals; they are lower-cased into the repository.
const GITHUB_LOGIN = new RegExp(`^${PATH_COMPONENT}$`, 'i');
const GITHUB_PACKAGE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`, 'i');
const REPOSITORY = new RegExp(
  `^(${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?)/${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`,
);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TAG_MESSAGE = 'expected an image tag such as 1.4.2 or develop-3f2a1c';
const DIGEST_MESSAGE = 'expected an image digest sha256:<64 hex digits>';
const REPOSITORY_MESSAGE =
  'expected an image repository with its registry host and no tag or digest, such as registry.example.com/team/app';
// 9999-12-31T23:59:59Z, the last second an ISO date can show.
const LAST_UNIX_SECOND = 253_402_300_799;

const text = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `is required: expected ${what}` : `expected ${what}`) });
const object = <T extends z.core.$ZodLooseShape>(what: string, shape: T) =>
  z.object(shape, {
    error: (issue) => (issue.input === undefined ? `is required: expected ${what}` : `expected ${what}`),
  });

const tag = text('an image tag').check(z.regex(TAG, TAG_MESSAGE));
const digest = text('an image digest').check(z.regex(DIGEST, DIGEST_MESSAGE));

const dockerHubPush = z.object({
  push_data: object('the push details', {
    tag,
    pushed_at: z.optional(
      z
        .number({ error: 'expected unix seconds' })
        .check(z.minimum(0, 'expected unix seconds'), z.maximum(LAST_UNIX_SECOND, 'expected unix seconds')),
    ),
  }),
  repository: object('the repository', {
    repo_name: text('a Docker Hub repository such as acme/shop').check(
      z.regex(DOCKER_HUB_NAME, 'expected a Docker Hub repository such as acme/shop'),
    ),
  }),
});

const gitHubPackageEvent = z.object({
  action: text('a package event action'),
  package: object('the package', { package_type: text('a package type') }),
});

const gitHubContainerPublished = z.object({
  package: z.object({
    name: text('a package name').check(
      z.regex(GITHUB_PACKAGE, 'expected a container package name such as shop-backend'),
    ),
    owner: object('the package owner', {
      login: text('the owner login').check(z.regex(GITHUB_LOGIN, 'expected a GitHub login')),
    }),
    updated_at: z.optional(z.string()),
    package_version: object('the published version', {
      container_metadata: object('the container metadata', {
        tag: object('the tag name and digest', {
          // GitHub sends an empty name for a version pushed by digest only.
          name: text('a tag name').check(z.refine((name) => name === '' || TAG.test(name), TAG_MESSAGE)),
          digest,
        }),
      }),
    }),
  }),
});

const genericPush = z
  .strictObject(
    {
      repository: text('an image repository').check(
        z.maxLength(255, 'expected at most 255 characters'),
        z.refine((repository) => {
          const host = REPOSITORY.exec(repository)?.[1];
          // As in Docker: a first component is a registry host only if it has a dot or a port, or is localhost.
          return host !== undefined && (host.includes('.') || host.includes(':') || host === 'localhost');
        }, REPOSITORY_MESSAGE),
      ),
      tag: z.optional(tag),
      digest: z.optional(digest),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'expected a JSON object',
    },
  )
  .check(
    z.superRefine((push, ctx) => {
      if (push.tag === undefined && push.digest === undefined) {
        ctx.addIssue({ code: 'custom', path: ['tag'], message: 'is required: give a tag, a digest or both' });
      }
    }),
  );

function parsed<T extends z.core.$ZodType>(schema: T, body: unknown): z.output<T> {
  const result = z.safeParse(schema, body);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    location: 'body',
    field: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const first = details[0];
  throw new InvalidInput(`${first?.field ? `body.${first.field}` : 'body'}: ${first?.message ?? 'is invalid'}`, {
    details,
  });
}

function fromDockerHub(body: unknown): RegistryPush {
  const push = parsed(dockerHubPush, body);
  const pushedAt = push.push_data.pushed_at;
  return {
    registry: 'dockerhub',
    repository: `docker.io/${push.repository.repo_name}`,
    tag: push.push_data.tag,
    ...(pushedAt === undefined ? {} : { pushedAt: new Date(pushedAt * 1000).toISOString() }),
  };
}

function fromGitHub(body: unknown, event: string | undefined): RegistryPush {
  if (event === 'ping') throw new IgnoredPush('GitHub ping event: the webhook is connected; nothing to deploy');
  if (event !== undefined && event !== 'package') {
    throw new IgnoredPush(`GitHub event "${event}" is not a package event`);
  }
  const envelope = parsed(gitHubPackageEvent, body);
  if (envelope.action !== 'published') {
    throw new IgnoredPush(`GitHub package event action "${envelope.action}" is not a publish`);
  }
  // The webhook schema says CONTAINER; the REST API and some deliveries say container.
  if (envelope.package.package_type.toLowerCase() !== 'container') {
    throw new IgnoredPush(`GitHub package type "${envelope.package.package_type}" is not a container image`);
  }
  const { package: pkg } = parsed(gitHubContainerPublished, body);
  const { name, digest } = pkg.package_version.container_metadata.tag;
  // The package's updated_at, not the version's: GitHub has sent 0001-01-01T00:00:00Z in the version's dates.
  const updatedAt = pkg.updated_at === undefined ? Number.NaN : Date.parse(pkg.updated_at);
  return {
    registry: 'ghcr',
    repository: `ghcr.io/${pkg.owner.login}/${pkg.name}`.toLowerCase(),
    ...(name === '' ? {} : { tag: name }),
    digest,
    ...(Number.isNaN(updatedAt) ? {} : { pushedAt: new Date(updatedAt).toISOString() }),
  };
}

function fromGeneric(body: unknown): RegistryPush {
  const push = parsed(genericPush, body);
  return {
    registry: 'generic',
    repository: push.repository,
    ...(push.tag === undefined ? {} : { tag: push.tag }),
    ...(push.digest === undefined ? {} : { digest: push.digest }),
  };
}

/**
 * What a verified delivery announces. The format is told from its shape: `push_data` is Docker Hub's, an
 * X-GitHub-Event header or a `package` key is GitHub's, anything else must be Slipway's generic form.
 * Throws InvalidInput naming the field, or IgnoredPush for a delivery with nothing to deploy.
 */
export function parseRegistryPush(body: unknown, headers: Record<string, string>): RegistryPush {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInput('body: expected a JSON object', {
      details: [{ location: 'body', field: '', message: 'expected a JSON object' }],
    });
  }
  if ('push_data' in body) return fromDockerHub(body);
  const event = headers['x-github-event'];
  if (event !== undefined || 'package' in body) return fromGitHub(body, event);
  return fromGeneric(body);
}
