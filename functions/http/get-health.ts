import * as routes from '../../lib/http/no-input-route-specs';
import { httpRoute } from '../../lib/http/route-chain';
import { environment } from '../../lib/wiring/environment';

export interface GetHealthDeps {
  version: string;
  stage: string;
  startedAt: number;
  now: () => number;
  /** The sandbox's endpoint under `npm start -- --sandbox`. */
  sandboxEndpoint?: string | undefined;
}

export function makeHandler(deps: GetHealthDeps) {
  return httpRoute(routes.getHealth, {}, async () => ({
    status: 200,
    body: {
      status: 'ok',
      version: deps.version,
      stage: deps.stage,
      uptime_seconds: Math.floor((deps.now() - deps.startedAt) / 1000),
      ...(deps.sandboxEndpoint ? { sandbox: { endpoint: deps.sandboxEndpoint } } : {}),
    },
  }));
}

const env = environment();
export const handler = makeHandler({
  version: env.version,
  stage: env.stage,
  startedAt: Date.now(),
  now: Date.now,
  sandboxEndpoint: env.sandboxEndpoint,
});
