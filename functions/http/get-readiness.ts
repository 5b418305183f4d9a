import type { Credentials } from '../../lib/auth/token-source';
import { checkReadiness, type DependencyCheck } from '../../lib/health/readiness';
import * as routes from '../../lib/http/no-input-route-specs';
import { httpRoute } from '../../lib/http/route-chain';
import { readinessChecks } from '../../lib/wiring/readiness';
import { tokens } from '../../lib/wiring/tokens';

export const CHECK_TIMEOUT_MS = 2_000;

export interface GetReadinessDeps {
  tokens: Credentials;
  checks: DependencyCheck[];
  timeoutMs: number;
}

export function makeHandler(deps: GetReadinessDeps) {
  return httpRoute(routes.getReadiness, deps, async () => {
    const report = await checkReadiness(deps.checks, deps.timeoutMs);
    return { status: report.status === 'healthy' ? 200 : 503, body: report };
  });
}

export const handler = makeHandler({ tokens: tokens(), checks: readinessChecks(), timeoutMs: CHECK_TIMEOUT_MS });
