import { logger, metrics } from '../observability';
import { accountIdOf } from './account-ids';
import type { SlipwayConfig } from './schema';

/**
 * Where the things config places live (an account config names and a region, or the control plane's own), and
 * whether an event comes from there: pure functions of config and plain data, shared by every flow that acts in
 * other accounts (deployments' ECS events, backups' and restores' RDS events).
 */

/** The control plane's own account and region: what a thing without account or region is in. */
export interface Home {
  /** Unknown where no Lambda function ARN tells it (npm start). */
  account?: string | undefined;
  region: string;
}

/** Where one thing is, as config places it: an account config names and a region, absent for the control plane's. */
export interface Placed {
  account?: string | undefined;
  region?: string | undefined;
}

/** The account and region a thing's events come from: an account unknown where the control plane's is. */
export interface EventSource {
  account: string | undefined;
  region: string;
}

/** The account id of an account config names: the one its role ARN is in. */
export function namedAccountId(config: Pick<SlipwayConfig, 'accounts'>, name: string): string | undefined {
  const roleArn = Object.hasOwn(config.accounts, name) ? config.accounts[name]?.roleArn : undefined;
  return roleArn === undefined ? undefined : accountIdOf(roleArn);
}

/** The account and region a placed thing's events come from. */
export function eventSourceOf(config: Pick<SlipwayConfig, 'accounts'>, placed: Placed, home: Home): EventSource {
  return {
    account: placed.account === undefined ? home.account : namedAccountId(config, placed.account),
    region: placed.region ?? home.region,
  };
}

/**
 * Whether a service ARN names the place an environment's events come from: a service of the same names
 * in another account or region is not the environment's. An account unknown is taken as the ARN's.
 */
export function arnInPlace(expected: EventSource, arn: { account: string; region: string }): boolean {
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

/** An event's id and where EventBridge says it comes from. */
export interface EventOrigin {
  id: string;
  account: string;
  region?: string | undefined;
}

/** What an event names, for its log line and its reason: `shop/staging's service`, `database shop-db`. */
export interface EventOwner {
  /** The service's kind of event, for the log line: `ECS`, `RDS`. */
  service: string;
  /** What the event names, for the log line: `service`, `database`. */
  thing: string;
  /** Whose it is, for the reason: `shop/staging's service`. */
  name: string;
  /** Where its events come from: its account (unknown: the event's own) and the regions it is in. */
  account: string | undefined;
  regions: string[];
  /** The log line's keys naming it. */
  keys: Record<string, string>;
}

/**
 * Why an event naming a thing is not taken: it comes from another account or region than the thing's, so
 * it is forged or stale; logged with its id and counted as `metric`. Undefined when it comes from there.
 */
export function eventFromElsewhere(event: EventOrigin, owner: EventOwner, metric: string): string | undefined {
  const account = owner.account ?? event.account;
  if (event.account === account && event.region !== undefined && owner.regions.includes(event.region)) {
    return undefined;
  }
  const reason = `the event comes from account ${event.account} in ${event.region ?? 'no region'}, but ${owner.name} is in account ${account} in ${owner.regions.join(' or ')}`;
  logger.warn(`${owner.service} event from another account or region than the ${owner.thing} it names ignored`, {
    eventId: event.id,
    ...owner.keys,
    reason,
  });
  metrics.addMetric(metric, 'Count', 1);
  return reason;
}
