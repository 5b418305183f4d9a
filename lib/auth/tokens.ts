import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Bearer tokens. Only SHA-256 hashes are stored; a token is shown once, when minted.
 * Roles grant permissions; routes ask for a permission, not a role.
 */
export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['read', 'deploy', 'approve', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, ReadonlyArray<Permission>> = {
  viewer: ['read'],
  deployer: ['read', 'deploy'],
  approver: ['read', 'approve'],
  admin: ['read', 'deploy', 'approve', 'admin'],
};

export function rolesGrant(roles: ReadonlyArray<Role>, permission: Permission): boolean {
  return roles.some((role) => GRANTS[role].includes(permission));
}

export const tokenEntrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  roles: z.array(z.enum(ROLES)).min(1),
  createdAt: z.string().optional(),
});
export type TokenEntry = z.infer<typeof tokenEntrySchema>;

export const tokenDocumentSchema = z.object({ tokens: z.array(tokenEntrySchema) });
export type TokenDocument = z.infer<typeof tokenDocumentSchema>;

export interface Principal {
  name: string;
  roles: Role[];
}

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
  return found ? { name: found.name, roles: [...found.roles] } : undefined;
}
