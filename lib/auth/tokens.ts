import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal, Scope } from './principal';
import type { TokenEntry } from './token-document';

// Bearer tokens. Only SHA-256 hashes are stored; a token is shown once, when minted.

export type { TokenDocument, TokenEntry } from './token-document';

const TOKEN_PREFIX = 'slw_';

export function mintToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/**
 * Finds the entry whose hash matches. Every entry is compared, in constant time,
 * so neither the position of a match nor a near miss shows in the timing.
 */
export function findPrincipal(token: string, entries: ReadonlyArray<TokenEntry>): Principal | undefined {
  const presented = Buffer.from(hashToken(token), 'hex');
  let found: TokenEntry | undefined;
  for (const entry of entries) {
    const stored = Buffer.from(entry.sha256, 'hex');
    if (stored.length === presented.length && timingSafeEqual(stored, presented) && !found) found = entry;
  }
  return found ? principalOf(found) : undefined;
}

/** The principal a stored token stands for: its name, roles and scope. */
export function principalOf(entry: TokenEntry): Principal {
  const scope: Scope = {
    ...(entry.apps ? { apps: [...entry.apps] } : {}),
    ...(entry.environments ? { environments: [...entry.environments] } : {}),
  };
  return { name: entry.name, roles: [...entry.roles], ...(Object.keys(scope).length > 0 ? { scope } : {}) };
}
