import type { Place } from '../aws/account-credentials';
import type { EnvironmentConfig, SlipwayConfig } from '../config/schema';
import { eventSourceOf, type Home } from '../deploy/placement';

/**
 * Where an environment's health metrics are published and its health alarms live. ECS takes the alarms handed to
 * UpdateService by name and looks them up in the service's own account and region (ECS API Reference,
 * DeploymentAlarms; ECS Developer Guide, "How CloudWatch alarms detect Amazon ECS deployment failures"), so an
 * environment in a member account has its alarms there, in its service's region, from that account's template
 * (lib/events/member-account/health-alarms.ts), and its probes publish there. Every other environment's are the
 * control plane's, in its stack's region, as EMF. Pure functions of config.
 */

/** The member account and the service's region for an environment config places in an account; else the control plane's own. */
export function healthAlarmPlace(env: Pick<EnvironmentConfig, 'account' | 'region'>): Place {
  return env.account === undefined ? {} : { account: env.account, region: env.region };
}

/**
 * Whether the environment's generated alarms are where its service is, so ECS can roll back on them: those of a
 * member account's environment are; the control plane's are for a service in its own region only. An environment
 * in another region of the control plane's account has no alarm of Slipway's ECS could find.
 */
export function healthAlarmsBesideService(env: Pick<EnvironmentConfig, 'account' | 'region'>): boolean {
  return env.account !== undefined || env.region === undefined;
}

/**
 * The account and region an alarm's state change events come from: a generated alarm's, where its health alarms
 * are; an alarm config names, where the service is, as ECS looks it up there. An account unknown (npm start) is
 * any account.
 */
export function alarmEventSource(
  config: Pick<SlipwayConfig, 'accounts'>,
  env: Pick<EnvironmentConfig, 'account' | 'region'>,
  generated: boolean,
  home: Home,
): { account: string | undefined; region: string } {
  if (generated && healthAlarmPlace(env).account === undefined) return { account: home.account, region: home.region };
  return eventSourceOf(config, env, home);
}
