import type { RouteSpec } from './route-chain';

/**
 * The routes that take no path, query or body the chain validates: their functions import their spec from
 * here, so they bundle no input schema, no zod and no zod locale. route-specs.ts re-exports them.
 */

export const getHealth = { name: 'getHealth', access: 'public', scope: 'open' } as const satisfies RouteSpec;

export const getLiveness = { name: 'getLiveness', access: 'public', scope: 'open' } as const satisfies RouteSpec;

export const getReadiness = {
  name: 'getReadiness',
  access: 'read',
  // The control plane's own dependencies; a CI job may check them before it deploys.
  scope: 'open',
} as const satisfies RouteSpec;

export const getOpenapi = { name: 'getOpenapi', access: 'public', scope: 'open' } as const satisfies RouteSpec;

export const getMe = {
  name: 'getMe',
  access: 'read',
  // Any caller may learn its own roles and scope: the console shows the buttons they allow.
  scope: 'open',
} as const satisfies RouteSpec;

export const listApps = { name: 'listApps', access: 'read', scope: 'listing' } as const satisfies RouteSpec;

export const slackInteractions = {
  name: 'slackInteractions',
  access: 'public',
  scope: 'open',
} as const satisfies RouteSpec;

export const registryWebhook = {
  name: 'registryWebhook',
  access: 'public',
  scope: 'open',
} as const satisfies RouteSpec;
