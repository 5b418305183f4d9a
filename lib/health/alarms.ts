import { type CloudFormationResource, logicalId } from '../aws/cloudformation';
import type { EnvironmentConfig, HealthCheckConfig, SlipwayConfig } from '../config/schema';
import { healthAlarmPlace } from './alarm-placement';

/**
 * The CloudWatch alarms Slipway generates from each environment's health checks: one on
 * availability (the worst check, N of M minutes, missing data breaching, so a probe that stops
 * reporting alarms too) and one on p99 latency. The same names go to UpdateService, so ECS rolls
 * back on them during a deployment, and to the alarm rule, so Slipway rolls back after it.
 */

export const METRIC_NAMESPACE = 'Slipway';

/** The Check dimension: the check's name, else its position. */
export function checkName(check: Pick<HealthCheckConfig, 'name'>, index: number): string {
  return check.name ?? `check-${index + 1}`;
}

/**
 * The environment's checks of one listener, each with its name: a production check's is its Check
 * dimension, numbered among production checks only, so adding a test check renames no metric.
 * Probes and alarms use production's; the lifecycle hook either.
 */
export function namedChecks(env: Pick<EnvironmentConfig, 'health'>, stage: HealthCheckConfig['stage'] = 'production') {
  return env.health
    .filter((check) => check.stage === stage)
    .map((check, index) => ({
      check,
      checkName: stage === 'production' ? checkName(check, index) : (check.name ?? `test-check-${index + 1}`),
    }));
}

/** What every alarm Slipway generates for a stage is named with first (health, backups, functions). */
export function slipwayAlarmPrefix(stage: string): string {
  return `slipway-${stage}-`;
}

export function healthAlarmNames(stage: string, app: string, environment: string) {
  const prefix = `${slipwayAlarmPrefix(stage)}${app}-${environment}`;
  return { availability: `${prefix}-availability`, latency: `${prefix}-latency` };
}

/** Every alarm name of an environment Slipway generated, for UpdateService (none without health checks). */
export function generatedAlarmNames(
  stage: string,
  app: string,
  environment: string,
  env: Pick<EnvironmentConfig, 'health'>,
) {
  if (namedChecks(env).length === 0) return [];
  const names = healthAlarmNames(stage, app, environment);
  return [names.availability, names.latency];
}

/**
 * An alarm name Slipway watches → its app and environment, and whether Slipway generated it from the health
 * checks or config names it under alarms.
 */
export function alarmTarget(config: SlipwayConfig, stage: string, alarmName: string) {
  for (const [app, appConfig] of Object.entries(config.apps)) {
    for (const [environment, env] of Object.entries(appConfig.environments)) {
      if (generatedAlarmNames(stage, app, environment, env).includes(alarmName)) {
        return { app, environment, generated: true };
      }
      if (env.alarms.includes(alarmName)) return { app, environment, generated: false };
    }
  }
  return undefined;
}

/**
 * The AWS::CloudWatch::Alarm resources of the control plane's stack, in `controlPlaneRegion`: those of every
 * environment with health checks whose alarms are the control plane's (lib/health/alarm-placement.ts); an
 * environment in a member account has its own in that account's template, one in another region of the control
 * plane's account in that region's (lib/events/region-template.ts). Without a region (the sandbox, every region at
 * once), an environment in another region keeps its alarms here.
 */
export function healthAlarmResources(
  config: SlipwayConfig,
  stage: string,
  topic: unknown,
  controlPlaneRegion?: string,
): Record<string, CloudFormationResource> {
  const resources: Record<string, CloudFormationResource> = {};
  for (const [app, appConfig] of Object.entries(config.apps)) {
    for (const [environment, env] of Object.entries(appConfig.environments)) {
      const elsewhere =
        env.account !== undefined ||
        (controlPlaneRegion !== undefined && healthAlarmPlace(env, controlPlaneRegion).region !== undefined);
      if (elsewhere) continue;
      Object.assign(
        resources,
        environmentHealthAlarms(stage, app, environment, env, { AlarmActions: [topic], OKActions: [topic] }),
      );
    }
  }
  return resources;
}

/**
 * One environment's two health alarms, by logical id (none without health checks), with the actions given: the
 * control plane's notify its topic; a member account's have none, as their state changes reach the control plane
 * as events (lib/events/member-account/health-alarms.ts).
 */
export function environmentHealthAlarms(
  stage: string,
  app: string,
  environment: string,
  env: Pick<EnvironmentConfig, 'health' | 'healthAlarms'>,
  actions: { AlarmActions?: unknown[]; OKActions?: unknown[] },
): Record<string, CloudFormationResource> {
  const checks = namedChecks(env).map((named) => named.checkName);
  if (checks.length === 0) return {};
  const names = healthAlarmNames(stage, app, environment);
  const thresholds = env.healthAlarms;
  const metric = (id: string, metricName: string, stat: string, check: string) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: METRIC_NAMESPACE,
        MetricName: metricName,
        Dimensions: [
          { Name: 'App', Value: app },
          { Name: 'Environment', Value: environment },
          { Name: 'Check', Value: check },
        ],
      },
      Period: 60,
      Stat: stat,
    },
  });
  const ids = checks.map((_, index) => `m${index + 1}`);
  const common = { ActionsEnabled: true, ...actions };
  const resources: Record<string, CloudFormationResource> = {};
  resources[logicalId('HealthAlarm', app, environment, 'Availability')] = {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      ...common,
      AlarmName: names.availability,
      AlarmDescription: `Slipway: ${app}/${environment} health checks below ${thresholds.availabilityBelow * 100}% in ${thresholds.datapointsToAlarm} of ${thresholds.evaluationPeriods} minutes`,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: thresholds.availabilityBelow,
      EvaluationPeriods: thresholds.evaluationPeriods,
      DatapointsToAlarm: thresholds.datapointsToAlarm,
      // A probe that stops reporting is as bad as one that fails.
      TreatMissingData: 'breaching',
      Metrics: [
        ...checks.map((check, index) => metric(ids[index] as string, 'Availability', 'Average', check)),
        {
          Id: 'worst',
          Expression: `MIN([${ids.join(', ')}])`,
          Label: 'worst check availability',
          ReturnData: true,
        },
      ],
    },
  };
  resources[logicalId('HealthAlarm', app, environment, 'Latency')] = {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      ...common,
      AlarmName: names.latency,
      AlarmDescription: `Slipway: ${app}/${environment} p99 latency above ${thresholds.latencyP99AboveMs} ms in ${thresholds.datapointsToAlarm} of ${thresholds.evaluationPeriods} minutes`,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: thresholds.latencyP99AboveMs,
      EvaluationPeriods: thresholds.evaluationPeriods,
      DatapointsToAlarm: thresholds.datapointsToAlarm,
      TreatMissingData: 'notBreaching',
      Metrics: [
        ...checks.map((check, index) => metric(ids[index] as string, 'LatencyMs', 'p99', check)),
        { Id: 'slowest', Expression: `MAX([${ids.join(', ')}])`, Label: 'slowest check p99', ReturnData: true },
      ],
    },
  };
  return resources;
}
