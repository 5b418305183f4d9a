/**
 * How a route applies a principal's scope (lib/auth/scope.ts). Every route of the registry
 * (lib/http/registry.ts) names one, and so does every route the chain builds, so a new route does not
 * compile until someone decides this for it.
 *
 * - `path`: the {app, env} path parameters; httpRoute checks them before the handler runs.
 * - `body`: the body's {app, environment}; httpRoute checks them before the handler runs.
 * - `promotion`: the path, as `path`, and the source environment too (`from`, else the target's
 *   promoteFrom), which the handler checks since only it knows the configured source.
 * - `record`: a deployment by id; the handler loads it and checks its app and environment before acting
 *   (or answering: reading an out-of-scope deployment is a 403 too).
 * - `listing`: the handler shows only what the scope covers.
 * - `no-app`: names no app (backups, restores): refused to any scoped principal, by httpRoute.
 * - `open`: names no app and shows nothing of one (public routes, readiness): any principal the route's
 *   permission admits.
 */
export type RouteScope = 'path' | 'body' | 'promotion' | 'record' | 'listing' | 'no-app' | 'open';

/** What a `no-app` route's 403 says the principal may not use. */
export function noAppSubject(name: string): string {
  if (/Backups?$/.test(name)) return 'backups';
  if (/Restores?$/.test(name)) return 'restores';
  return 'routes that name no app';
}
