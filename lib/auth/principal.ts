/**
 * Who calls, and what their roles and scope let them do: the types every layer passes around (routes,
 * the audit trail, the config schema), in a leaf module that imports nothing, so none of them imports
 * the modules that decide about principals (tokens, scope, OIDC).
 */

export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Roles grant permissions; routes ask for a permission, not a role. */
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

/**
 * What a principal may act on, beyond what its roles allow: some apps, some environments.
 * A key that is absent does not limit: no `apps` is every app (lib/auth/scope.ts applies it).
 */
export interface Scope {
  apps?: string[];
  environments?: string[];
  excludeEnvironments?: string[];
}

export interface Principal {
  name: string;
  roles: Role[];
  /** Present only when the principal is limited to some apps or environments (lib/auth/scope.ts). */
  scope?: Scope;
  /** The OIDC issuer that vouched for the caller; absent for a token from the tokens secret. */
  issuer?: string;
  /**
   * The person behind an OIDC caller (`oidc:<host>:<person claim>=<value>`), the same across its branches
   * and environments: approvals are counted by it. Absent for a stored token, whose name is its person.
   */
  person?: string;
}

/** What a token's name may be (the tokens document, and the names notifications.slack.approvers maps to). */
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;

/** Token names with this prefix are kept for OIDC callers, so a stored token never passes for one. */
export const OIDC_NAME_PREFIX = 'oidc:';

/** What GET /v1/me answers: the principal with the permissions its roles grant. */
export function describePrincipal(principal: Principal) {
  return {
    name: principal.name,
    roles: principal.roles,
    permissions: PERMISSIONS.filter((permission) => rolesGrant(principal.roles, permission)),
    ...(principal.scope ? { scope: principal.scope } : {}),
    ...(principal.issuer ? { issuer: principal.issuer } : {}),
    ...(principal.person ? { person: principal.person } : {}),
  };
}
