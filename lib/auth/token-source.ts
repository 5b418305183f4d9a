import { access, readFile } from 'node:fs/promises';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CachedRead, readSecretString } from '../aws/secrets';
import { ConfigError } from '../errors';
import type { OidcVerifier } from './oidc';
import { type TokenEntry, tokenDocumentSchema } from './token-document';

/** Where the hashed tokens come from: a port, so tests and `npm start` can supply their own. */
export type TokenSource = () => Promise<TokenEntry[]>;

/**
 * Every credential a route accepts: the tokens secret's entries and, when auth.oidc names issuers,
 * JWTs they sign. The verifier rides on the token source that every route's deps already carry, so
 * configuring OIDC reaches every route from lib/wiring alone; a source without one refuses JWTs.
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

export function secretsManagerTokenSource(
  client: SecretsManagerClient,
  secretId: string,
  maxAgeSeconds: number,
): TokenSource {
  // A revoked token lasts maxAgeSeconds in a container, and no longer.
  const cached = new CachedRead<TokenEntry[]>(maxAgeSeconds);
  const read = async () => {
    const text = await readSecretString(client, secretId, 'the API tokens');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      // The parser's message quotes the text, which is the secret: no cause is kept.
      throw new ConfigError(`secret ${secretId} is not valid JSON`);
    }
    return parseDocument(raw, `secret ${secretId}`);
  };
  return () => cached.current() ?? cached.keep(read());
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
