/**
 * The one rule for the names config/<stage>.yml gives things (apps, environments, databases, volumes)
 * and for stage names: what a scope, a route's path and a schedule's input accept too. A leaf module,
 * so that the config schema, the auth module and the route schemas share it without importing each other.
 */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
