import type { EnvironmentConfig } from '../../config/schema';
import { environmentHealthAlarms, METRIC_NAMESPACE, namedChecks } from '../../health/alarms';

/**
 * What a member account holds for the health alarms of the environments config places in it
 * (lib/health/alarm-placement.ts): the alarms themselves, in each environment's region, with the names, metrics
 * and thresholds the control plane would give them, so they are the alarms Slipway hands to UpdateService; and the
 * target role's leave to publish their metrics there, in Slipway's namespace alone. Pure functions of config.
 */

export interface PlacedEnvironment {
  app: string;
  environment: string;
  env: EnvironmentConfig;
  region: string;
}

const probed = (placed: PlacedEnvironment[]) => placed.filter(({ env }) => namedChecks(env).length > 0);

/**
 * The alarms of each probed environment, each created only in its region (`conditionOf(region)`). They have no
 * actions: CloudWatch sends every state change to EventBridge, whose alarm rule forwards it to the control plane,
 * which notifies and rolls back (CloudWatch User Guide, "Alarm events and EventBridge").
 */
export function memberHealthAlarms(
  stage: string,
  placed: PlacedEnvironment[],
  conditionOf: (region: string) => string,
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    probed(placed).flatMap(({ app, environment, env, region }) =>
      Object.entries(environmentHealthAlarms(stage, app, environment, env, {})).map(([id, resource]) => [
        id,
        { ...resource, Condition: conditionOf(region) },
      ]),
    ),
  );
}

/**
 * The target role's statement for the probes' metrics: PutMetricData names no resource Slipway could hold it to,
 * so it is held to Slipway's namespace by cloudwatch:namespace and to the probed environments' regions (Service
 * Authorization Reference, Amazon CloudWatch: PutMetricData, condition key cloudwatch:namespace). None without a
 * probed environment.
 */
export function probeMetricStatements(placed: PlacedEnvironment[]): Array<Record<string, unknown>> {
  const regions = [...new Set(probed(placed).map(({ region }) => region))].sort();
  if (regions.length === 0) return [];
  return [
    {
      Sid: 'PublishProbeMetrics',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricData'],
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE, 'aws:RequestedRegion': regions } },
    },
  ];
}
