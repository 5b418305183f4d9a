import * as routes from '../../lib/http/no-input-route-specs';
import { httpRoute } from '../../lib/http/route-chain';

/** Liveness answers from the process alone: no dependency is touched. */
export function makeHandler() {
  return httpRoute(routes.getLiveness, {}, async () => ({
    status: 200,
    body: { status: 'alive' },
  }));
}

export const handler = makeHandler();
