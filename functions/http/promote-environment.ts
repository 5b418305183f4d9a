import { requireScope } from '../../lib/auth/scope';
import type { SlipwayConfig } from '../../lib/config/schema';
import { common, type DeploymentRequestDeps, deploymentRequestRoute } from '../../lib/http/deployment-requests';
import * as routes from '../../lib/http/route-specs';
import { config } from '../../lib/wiring/config';
import { deploymentRequestDeps } from '../../lib/wiring/deployment-requests';

export interface PromoteEnvironmentDeps extends DeploymentRequestDeps {
  /** An environment's configured promoteFrom: the source of a promotion whose body names none. */
  promoteFrom?: (app: string, environment: string) => string | undefined;
}

export function promoteFromOf(
  config: Pick<SlipwayConfig, 'apps'>,
): (app: string, environment: string) => string | undefined {
  return (app, environment) => config.apps[app]?.environments[environment]?.promoteFrom;
}

export function makeHandler(deps: PromoteEnvironmentDeps) {
  return deploymentRequestRoute(routes.promoteEnvironment, deps, ({ body, path, principal }) => {
    // The chain checked the target; a promotion reads the source too, so the source must be in scope as well.
    // Without `from` and without the config to know promoteFrom, the source is unknown: a principal
    // limited to some environments is refused, not guessed for.
    const source = body.from ?? deps.promoteFrom?.(path.app, path.env);
    if (source !== undefined || !deps.promoteFrom) requireScope(principal, { app: path.app, environment: source });
    return {
      app: path.app,
      environment: path.env,
      target: { kind: 'promote', ...(body.from ? { from: body.from } : {}) },
      ...common(body),
    };
  });
}

export const handler = makeHandler({ ...deploymentRequestDeps(), promoteFrom: promoteFromOf(config()) });
