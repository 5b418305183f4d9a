/**
 * The one rule for the names config/<stage>.yml gives things (apps, environments, databases, volumes)
 * and for stage names: what a scope, a route's path and a schedule's input accept too. A leaf module,
 * so that the config schema, the auth module and the route schemas share it without importing each other.
 */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * How a restore request names the control plane's own account (`account` of a vault copy's restore): NAME_PATTERN
 * refuses `@`, so no name under accounts can be spelt so.
 */
export const CONTROL_PLANE_ACCOUNT = '@control-plane';
