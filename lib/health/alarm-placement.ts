import type { Place } from '../aws/account-credentials';
import type { EnvironmentConfig, SlipwayConfig } from '../config/schema';
import { eventSourceOf, type Home } from '../deploy/placement';

/**
 * Where an environment's health metrics are published and its health alarms live. ECS takes the alarms handed to
 * UpdateService by name and looks them up in the service's own account and region (ECS API Reference,
 * DeploymentAlarms; ECS Developer Guide, "How CloudWatch alarms detect Amazon ECS deployment failures"), so every
 * environment's alarms are beside its service: a member account's in that account's template
 * (lib/events/member-account/health-alarms.ts), one in another region of the control plane's account in that
 * region's stack (lib/events/region-template.ts), and there its probes publish; every other's are the control
 * plane's, in its stack's region, as EMF. Pure functions of config.
 */

/**
 * The member account and the service's region for an environment config places in an account; the region for one
 * in another region of the control plane's account (`homeRegion`, its stack's); else the control plane's own ({}).
 */
export function healthAlarmPlace(env: Pick<EnvironmentConfig, 'account' | 'region'>, homeRegion: string): Place {
  if (env.account !== undefined) return { account: env.account, region: env.region };
  return env.region === undefined || env.region === homeRegion ? {} : { region: env.region };
}

/**
 * The account and region an alarm's state change events come from: where the service is, as its generated alarms
 * are there (healthAlarmPlace) and ECS looks a configured one up there. An account unknown (npm start) is any account.
 */
export function alarmEventSource(
  config: Pick<SlipwayConfig, 'accounts'>,
  env: Pick<EnvironmentConfig, 'account' | 'region'>,
  home: Home,
): { account: string | undefined; region: string } {
  return eventSourceOf(config, env, home);
}

/**
 * The regions other than `homeRegion` where the probes put the metrics of environments of the control plane's own
 * account with health checks, as the function itself: what its PutMetricData is held to (serverless/functions/
 * schedules.yml, runProbes).
 */
export function regionalProbeMetricRegions(config: Pick<SlipwayConfig, 'apps'>, homeRegion: string): string[] {
  const regions = Object.values(config.apps).flatMap((app) =>
    Object.values(app.environments).flatMap((env) => {
      const place = healthAlarmPlace(env, homeRegion);
      const probed = env.health.some((check) => check.stage === 'production');
      return probed && place.account === undefined && place.region !== undefined ? [place.region] : [];
    }),
  );
  return [...new Set(regions)].sort();
}
