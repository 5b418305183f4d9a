import type { Operation, Place } from '../aws/account-credentials';
import { accountIdOf } from '../config/account-ids';
import type { EnvironmentConfig, SlipwayConfig } from '../config/schema';
import { ecrRepository } from './ecs';
import type { DeploymentRecord } from './records';

/**
 * Where an environment's service lives (an account config names and a region, or the control plane's
 * own), the session a deployment acts there as, and whether an ECS event comes from there. Pure
 * functions of config and plain data.
 */

/** The control plane's own account and region: what an environment without account or region is in. */
export interface Home {
  /** Unknown where no Lambda function ARN tells it (npm start). */
  account?: string | undefined;
  region: string;
}

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

/** The account id of an account config names: the one its role ARN is in. */
function namedAccountId(config: Pick<SlipwayConfig, 'accounts'>, name: string): string | undefined {
  const roleArn = Object.hasOwn(config.accounts, name) ? config.accounts[name]?.roleArn : undefined;
  return roleArn === undefined ? undefined : accountIdOf(roleArn);
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

/** The account and region an environment's ECS events come from. */
export function eventSourceOf(
  config: Pick<SlipwayConfig, 'accounts'>,
  env: Pick<EnvironmentConfig, 'account' | 'region'>,
  home: Home,
): { account: string | undefined; region: string } {
  return {
    account: env.account === undefined ? home.account : namedAccountId(config, env.account),
    region: env.region ?? home.region,
  };
}

/**
 * Whether a service ARN names the place an environment's events come from: a service of the same names
 * in another account or region is not the environment's. An account unknown is taken as the ARN's.
 */
export function arnInPlace(
  expected: { account: string | undefined; region: string },
  arn: { account: string; region: string },
): boolean {
  return (expected.account === undefined || arn.account === expected.account) && arn.region === expected.region;
}

/**
 * The control plane's own account and region, from the function's ARN (Lambda Developer Guide, "Using the
 * Lambda context object": invokedFunctionArn) and its region; under npm start the ARN names no account.
 */
export function homeOf(invokedFunctionArn: string | undefined, region: string): Home {
  const account = /^arn:aws[a-z-]*:lambda:[^:]*:(\d{12}):function:/.exec(invokedFunctionArn ?? '')?.[1];
  return { account, region };
}
