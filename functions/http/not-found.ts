import { NotFound } from '../../lib/errors';
import { httpRoute } from '../../lib/http/route-chain';

/** The catch-all route: anything API Gateway has no route for gets the usual JSON error. */
export function makeHandler() {
  return httpRoute({ name: 'notFound', access: 'public', scope: 'open' }, {}, async ({ method, rawPath }) => {
    throw new NotFound(`no route for ${method} ${rawPath}`, { details: { method, path: rawPath } });
  });
}

export const handler = makeHandler();
