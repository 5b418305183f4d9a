import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { NAME_PATTERN } from '../config/names';
import { OIDC_NAME_PREFIX, type Principal, ROLES, type Scope } from './principal';

// Bearer tokens. Only SHA-256 hashes are stored; a token is shown once, when minted.

export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;

/** App or environment names a token is limited to: absent is all, so an empty list would mean nothing and is refused. */
const scopeNames = z.array(z.string().regex(NAME_PATTERN)).min(1);

export const tokenEntrySchema = z.strictObject({
  name: z
    .string()
    .regex(TOKEN_NAME_PATTERN)
    // `oidc:<issuer host>:<sub>` names OIDC callers; a stored token must never pass for one (approvals compare names).
    .refine(
      (name) => !name.startsWith(OIDC_NAME_PREFIX),
      `names starting with ${OIDC_NAME_PREFIX} are kept for OIDC callers`,
    ),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  roles: z.array(z.enum(ROLES)).min(1),
  /** Limits the token to these apps; absent: every app. */
  apps: scopeNames.optional(),
  /** Limits the token to these environments (of any of its apps); absent: every environment. */
  environments: scopeNames.optional(),
  createdAt: z.string().optional(),
});
export type TokenEntry = z.infer<typeof tokenEntrySchema>;

export const tokenDocumentSchema = z.object({ tokens: z.array(tokenEntrySchema) });
export type TokenDocument = z.infer<typeof tokenDocumentSchema>;

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
  if (!found) return undefined;
  const scope: Scope = {
    ...(found.apps ? { apps: [...found.apps] } : {}),
    ...(found.environments ? { environments: [...found.environments] } : {}),
  };
  return { name: found.name, roles: [...found.roles], ...(Object.keys(scope).length > 0 ? { scope } : {}) };
}
