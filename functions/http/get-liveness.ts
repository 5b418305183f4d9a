import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';

/** Liveness answers from the process alone: no dependency is touched. */
export function makeHandler() {
  return httpRoute(apiRoutes.getLiveness, {}, async () => ({
    status: 200,
    body: { status: 'alive' },
  }));
}

export const handler = makeHandler();
