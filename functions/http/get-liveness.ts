import { inputFreeRoutes } from '../../lib/http/input-free-routes';
import { httpRoute } from '../../lib/http/route-chain';

/** Liveness answers from the process alone: no dependency is touched. */
export function makeHandler() {
  return httpRoute(inputFreeRoutes.getLiveness, {}, async () => ({
    status: 200,
    body: { status: 'alive' },
  }));
}

export const handler = makeHandler();
