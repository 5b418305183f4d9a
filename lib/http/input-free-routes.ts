import type { RouteSpec } from './route-chain';

/**
 * What the route chain needs of the routes that read no input: their functions take it from here, not
 * from the registry, so they bundle none of its schemas nor zod. The registry documents them from these.
 */
export const inputFreeRoutes = {
  getHealth: { name: 'getHealth', access: 'public', scope: 'open' },
  getLiveness: { name: 'getLiveness', access: 'public', scope: 'open' },
  getOpenapi: { name: 'getOpenapi', access: 'public', scope: 'open' },
} as const satisfies Record<string, RouteSpec>;
