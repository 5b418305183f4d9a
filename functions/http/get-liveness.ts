import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';

/** Liveness answers from the process alone: no dependency is touched. */
export function makeHandler() {
  return httpRoute(routes.getLiveness, {}, async () => ({
    status: 200,
    body: { status: 'alive' },
  }));
}

export const handler = makeHandler();
