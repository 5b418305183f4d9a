import { access, readFile } from 'node:fs/promises';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, UpstreamFailed } from '../errors';
import type { OidcVerifier } from './oidc';
import { type TokenEntry, tokenDocumentSchema } from './tokens';

/** Where the hashed tokens come from: a port, so tests and `npm start` can supply their own. */
export type TokenSource = () => Promise<TokenEntry[]>;

/**
 * Every credential a route accepts: the tokens secret's entries and, when auth.oidc names issuers,
 * JWTs they sign. The verifier rides on the token source that every route's deps already carry, so
 * configuring OIDC reaches every route from lib/runtime alone; a source without one refuses JWTs.
 */
export type Credentials = TokenSource & { readonly oidc?: OidcVerifier };

export function withOidc(tokens: TokenSource, oidc: OidcVerifier | undefined): Credentials {
  if (!oidc) return tokens;
  const credentials: TokenSource = () => tokens();
  return Object.assign(credentials, { oidc });
}

function parseDocument(raw: unknown, origin: string): TokenEntry[] {
  const result = tokenDocumentSchema.safeParse(raw);
  if (!result.success) {
    // The document may hold other fields; name only the paths, never the values.
    const paths = result.error.issues.map((issue) => issue.path.join('.') || '(top level)').join(', ');
    throw new ConfigError(`${origin} is not a valid token document (${paths})`);
  }
  return result.data.tokens;
}

// After a failed read, the same failure is answered for this long before Secrets Manager is asked again.
const FAILURE_HOLD_MS = 1_000;

/**
 * `read`, answered from one result for `maxAgeSeconds` however many callers ask at once, and a failure
 * answered again for a second rather than read again: a flood of requests with bad credentials costs
 * at most one read of the secret per period in a container, even while Secrets Manager fails.
 */
export function cachedFor<T>(read: () => Promise<T>, maxAgeSeconds: number): () => Promise<T> {
  let kept: { value: T; until: number } | undefined;
  let failed: { error: unknown; until: number } | undefined;
  let reading: Promise<T> | undefined;
  return () => {
    const now = Date.now();
    if (kept && now < kept.until) return Promise.resolve(kept.value);
    if (failed && now < failed.until) return Promise.reject(failed.error);
    reading ??= read().then(
      (value) => {
        kept = { value, until: Date.now() + maxAgeSeconds * 1_000 };
        failed = undefined;
        reading = undefined;
        return value;
      },
      (error: unknown) => {
        failed = { error, until: Date.now() + FAILURE_HOLD_MS };
        reading = undefined;
        throw error;
      },
    );
    return reading;
  };
}

export function secretsManagerTokenSource(
  client: SecretsManagerClient,
  secretId: string,
  maxAgeSeconds: number,
): TokenSource {
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  // cachedFor is the cache; the provider's own is bypassed, so a revoked token lasts maxAgeSeconds, not twice that.
  return cachedFor(async () => {
    let text: string | Uint8Array | undefined;
    try {
      text = await provider.get(secretId, { forceFetch: true });
    } catch (error) {
      throw new UpstreamFailed('cannot read the API tokens from Secrets Manager', { cause: error });
    }
    if (typeof text !== 'string') throw new UpstreamFailed(`secret ${secretId} has no string value`);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      // The parser's message quotes the text, which is the secret: no cause is kept.
      throw new ConfigError(`secret ${secretId} is not valid JSON`);
    }
    return parseDocument(raw, `secret ${secretId}`);
  }, maxAgeSeconds);
}

/**
 * On this machine the local file wins whenever it exists, checked on every call,
 * so `npm run token` works against a running `npm start` without a restart.
 */
export function localFileFirst(path: string, fallback: TokenSource): TokenSource {
  const file = fileTokenSource(path);
  return async () => ((await fileExists(path)) ? file() : fallback());
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Read on every call so a token minted by `npm run token` works at once. */
export function fileTokenSource(path: string): TokenSource {
  return async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ConfigError(`cannot read ${path}`, { cause: error });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${path} is not valid JSON`, { cause: error });
    }
    return parseDocument(raw, path);
  };
}
