import type { Operation, Place } from '../aws/account-credentials';
import { namedAccountId } from '../config/places';
import type { EnvironmentConfig, SlipwayConfig } from '../config/schema';
import { ecrRepository } from './ecs';
import type { DeploymentRecord } from './records';

// Shared with the other flows that act in other accounts (lib/config/places.ts).
export { arnInPlace, eventSourceOf, type Home, homeOf } from '../config/places';

/**
 * Where an environment's service lives (an account config names and a region, or the control plane's
 * own), the session a deployment acts there as, and whether an ECS event comes from there. Pure
 * functions of config and plain data.
 */

export function placeOf(env: Pick<EnvironmentConfig, 'account' | 'region'>): Place {
  return { account: env.account, region: env.region };
}

/** The place of the environment a record was made for; the control plane's own once config no longer names it. */
export function placeOfRecord(
  config: Pick<SlipwayConfig, 'apps'>,
  record: Pick<DeploymentRecord, 'app' | 'environment'>,
): Place {
  const app = Object.hasOwn(config.apps, record.app) ? config.apps[record.app] : undefined;
  const env =
    app && Object.hasOwn(app.environments, record.environment) ? app.environments[record.environment] : undefined;
  return env ? placeOf(env) : {};
}

/**
 * The session an image of `repository` is read as for an environment: the environment account's when the
 * repository is in it (its URI's registry id is that account's), else none (the function's own credentials).
 */
export function repositorySession(
  config: Pick<SlipwayConfig, 'accounts'>,
  repository: string,
  env: Pick<EnvironmentConfig, 'account'>,
  operation: Operation,
): { account: string; operation: Operation } | undefined {
  const registryId = ecrRepository(repository)?.registryId;
  if (env.account === undefined || registryId === undefined) return undefined;
  return namedAccountId(config, env.account) === registryId ? { account: env.account, operation } : undefined;
}

/** A deployment's session: named after it, with who acts for it now, tagged with its app and environment. */
export function deploymentOperation(
  deployment: Pick<DeploymentRecord, 'id' | 'app' | 'environment'>,
  principal: string,
): Operation {
  return { id: deployment.id, principal, app: deployment.app, environment: deployment.environment };
}
