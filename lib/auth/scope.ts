import { Forbidden, Unauthenticated } from '../errors';
import type { Principal, Scope } from './principal';

/*
 * A principal's scope (lib/auth/principal.ts) applied. Every route that names an app or an environment
 * asks `requireScope` (directly, or through the route chain for path and body); routes that name none
 * (backups, restores) serve only principals with no scope at all.
 */

/** What a request acts on. No `environment`: one this request does not name (a promotion's unknown source). */
export interface ScopeTarget {
  app: string;
  environment?: string | undefined;
}

export type ScopeDecision =
  | { allowed: true }
  | { allowed: false; message: string; details: { scope: Scope; requested: ScopeTarget } };

/** True when the principal is limited to some apps or environments. */
export function isScoped(principal: Principal): boolean {
  const scope = principal.scope;
  return Boolean(scope && (scope.apps || scope.environments || scope.excludeEnvironments));
}

/** How messages name the principal: `token ci`, or the OIDC caller's own `oidc:<host>:<sub>`. */
export function principalLabel(principal: Principal): string {
  return principal.issuer ? principal.name : `token ${principal.name}`;
}

const listed = (names: ReadonlyArray<string>) => names.join(', ');

/** Only the keys that limit, in a stable order, for messages and details. */
function scopeOf(principal: Principal): Scope {
  const { apps, environments, excludeEnvironments } = principal.scope ?? {};
  return {
    ...(apps ? { apps: [...apps] } : {}),
    ...(environments ? { environments: [...environments] } : {}),
    ...(excludeEnvironments ? { excludeEnvironments: [...excludeEnvironments] } : {}),
  };
}

/**
 * The one rule: may this principal act on this app environment? Pure: the same answer for the
 * same principal and target, whichever route asks.
 */
export function authorizeScope(principal: Principal, target: ScopeTarget): ScopeDecision {
  if (!isScoped(principal)) return { allowed: true };
  const scope = scopeOf(principal);
  const requested: ScopeTarget = {
    app: target.app,
    ...(target.environment !== undefined ? { environment: target.environment } : {}),
  };
  const who = principalLabel(principal);
  const refuse = (message: string): ScopeDecision => ({ allowed: false, message, details: { scope, requested } });

  if (scope.apps && !scope.apps.includes(target.app)) {
    return refuse(`${who} may act on apps ${listed(scope.apps)} only, not ${target.app}`);
  }
  if (!scope.environments && !scope.excludeEnvironments) return { allowed: true };
  if (target.environment === undefined) {
    // Limited environments, and one this request does not name: refused rather than guessed.
    return refuse(
      `${who} may act on some environments only, and this request does not name the environment it reads; name it (for a promotion, in "from")`,
    );
  }
  if (scope.environments && !scope.environments.includes(target.environment)) {
    return refuse(`${who} may act on environments ${listed(scope.environments)} only, not ${target.environment}`);
  }
  if (scope.excludeEnvironments?.includes(target.environment)) {
    return refuse(
      `${who} may not act on environment ${target.environment}: its scope excludes ${listed(scope.excludeEnvironments)}`,
    );
  }
  return { allowed: true };
}

/**
 * What handlers and httpRoute call: throws 403 (details {scope, requested}) when the target is out
 * of the principal's scope. No principal on an authenticated route is a bug: refused, not waved through.
 */
export function requireScope(principal: Principal | undefined, target: ScopeTarget): void {
  if (!principal) throw new Unauthenticated();
  const decision = authorizeScope(principal, target);
  if (!decision.allowed) throw new Forbidden(decision.message, { details: decision.details });
}

/**
 * For routes that name no app (backups, restores): only a principal with no scope at all may call
 * them, since what they touch belongs to no app a scope could name (least privilege).
 */
export function requireUnscoped(principal: Principal | undefined, what: string): void {
  if (!principal) throw new Unauthenticated();
  if (!isScoped(principal)) return;
  throw new Forbidden(
    `${principalLabel(principal)} is limited to some apps or environments, so it may not use ${what}, which belong to no app; only a principal without a scope may`,
    { details: { scope: scopeOf(principal), requested: { route: what } } },
  );
}

/** May the principal see this app at all (some environment of it may be in scope)? */
function appVisible(principal: Principal, app: string): boolean {
  return !principal.scope?.apps || principal.scope.apps.includes(app);
}

/**
 * A listing cut down to what the scope covers: apps in scope, and in each only the environments in
 * scope; an app none of whose environments is in scope is left out.
 */
export function visibleApps<E extends { name: string }, A extends { name: string; environments: E[] }>(
  principal: Principal | undefined,
  apps: ReadonlyArray<A>,
): A[] {
  if (!principal) throw new Unauthenticated();
  if (!isScoped(principal)) return [...apps];
  return apps.flatMap((app) => {
    if (!appVisible(principal, app.name)) return [];
    const environments = app.environments.filter(
      (env) => authorizeScope(principal, { app: app.name, environment: env.name }).allowed,
    );
    if (environments.length === 0 && app.environments.length > 0) return [];
    return [{ ...app, environments }];
  });
}
