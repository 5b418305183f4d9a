import { existsSync } from 'node:fs';
import type { TokenSource } from '../../lib/auth/token-source';
import { clients } from '../../lib/aws/traced-clients';
import { backupBucketCheck, ecsCheck, secretsManagerCheck, stateTableCheck } from '../../lib/health/dependency-checks';
import { checkReadiness, type DependencyCheck } from '../../lib/health/readiness';
import { apiRoutes } from '../../lib/http/api-routes';
import { httpRoute } from '../../lib/http/route';
import { runtime, unreachableLocally } from '../../lib/runtime';

export const CHECK_TIMEOUT_MS = 2_000;

export interface GetReadinessDeps {
  tokens: TokenSource;
  checks: DependencyCheck[];
  timeoutMs: number;
}

export function makeHandler(deps: GetReadinessDeps) {
  return httpRoute(apiRoutes.getReadiness, deps, async () => {
    const report = await checkReadiness(deps.checks, deps.timeoutMs);
    return { status: report.status === 'healthy' ? 200 : 503, body: report };
  });
}

function defaultDeps(): GetReadinessDeps {
  const { env, config, tokens, tokensFile } = runtime();
  const secrets = clients.secretsManager();
  const ecs = clients.ecs();
  const unreachable = unreachableLocally(env, 'secretsmanager', secrets.config.credentials);
  const secretsSkip = async () =>
    tokensFile && existsSync(tokensFile) ? `API tokens are read from ${tokensFile} on this machine` : unreachable();
  return {
    tokens,
    timeoutMs: CHECK_TIMEOUT_MS,
    checks: [
      stateTableCheck(clients.dynamodb(), env.stateTable),
      backupBucketCheck(clients.s3(), env.backupBucket),
      secretsManagerCheck(secrets, config.auth.tokensSecret, secretsSkip),
      ecsCheck(ecs, unreachableLocally(env, 'ecs', ecs.config.credentials)),
    ],
  };
}

export const handler = makeHandler(defaultDeps());
