import { httpRoute } from '../../lib/http/route';

/** Liveness answers from the process alone: no dependency is touched. */
export function makeHandler() {
  return httpRoute({ name: 'getLiveness', access: 'public' }, {}, async () => ({
    status: 200,
    body: { status: 'alive' },
  }));
}

export const handler = makeHandler();
