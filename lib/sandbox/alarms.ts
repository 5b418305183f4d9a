import type { SlipwayConfig } from '../config/schema';
import { healthAlarmNames, healthAlarmResources } from '../health/alarms';
import { findService } from './ecs';
import { type AlarmStateValue, alarmStateChange, cloudWatchTime } from './events';
import { arnOf, envelopeOf, type Sim } from './sim';
import type { AlarmRecord, Millis } from './state';
import { AwsFault, type Json } from './wire';

/**
 * The CloudWatch alarms that watch each environment: the health alarms Slipway generates
 * (lib/health/alarms.ts, the same definitions the template gets) and the alarms config names. The
 * sandbox keeps each one's state and, when one changes, sends the CloudWatch Alarm State Change event
 * as CloudWatch would (Amazon CloudWatch User Guide, "Alarm events and EventBridge").
 */

export interface AlarmDefinition {
  name: string;
  app: string;
  environment: string;
  description: string;
  /** The alarm's metrics, as the event's `configuration.metrics` lists them. */
  metrics: Json[];
  comparison?: string;
  threshold?: number;
  datapointsToAlarm?: number;
  evaluationPeriods?: number;
}

type CfnMetric = {
  Id: string;
  Expression?: string;
  Label?: string;
  ReturnData?: boolean;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: Array<{ Name: string; Value: string }> };
    Period: number;
    Stat: string;
  };
};

/** A metric of the alarm's CloudFormation definition, as the state change event spells it. */
function eventMetric(metric: CfnMetric): Json {
  return {
    id: metric.Id,
    ...(metric.Expression ? { expression: metric.Expression } : {}),
    ...(metric.Label ? { label: metric.Label } : {}),
    ...(metric.MetricStat
      ? {
          metricStat: {
            metric: {
              dimensions: Object.fromEntries(
                metric.MetricStat.Metric.Dimensions.map((dimension) => [dimension.Name, dimension.Value]),
              ),
              name: metric.MetricStat.Metric.MetricName,
              namespace: metric.MetricStat.Metric.Namespace,
            },
            period: metric.MetricStat.Period,
            stat: metric.MetricStat.Stat,
          },
        }
      : {}),
    returnData: metric.ReturnData ?? true,
  };
}

export function alarmDefinitions(config: SlipwayConfig, stage: string): AlarmDefinition[] {
  const generated = Object.values(healthAlarmResources(config, stage, 'sandbox')).map((resource) => {
    const properties = resource.Properties as Record<string, unknown>;
    return {
      name: String(properties.AlarmName),
      description: String(properties.AlarmDescription ?? ''),
      metrics: ((properties.Metrics as CfnMetric[] | undefined) ?? []).map(eventMetric),
      comparison: String(properties.ComparisonOperator),
      threshold: Number(properties.Threshold),
      datapointsToAlarm: Number(properties.DatapointsToAlarm),
      evaluationPeriods: Number(properties.EvaluationPeriods),
    };
  });
  const definitions: AlarmDefinition[] = [];
  for (const [app, appConfig] of Object.entries(config.apps)) {
    for (const [environment, env] of Object.entries(appConfig.environments)) {
      const names = healthAlarmNames(stage, app, environment);
      for (const found of generated.filter((each) => each.name === names.availability || each.name === names.latency)) {
        definitions.push({ ...found, app, environment });
      }
      for (const name of env.alarms) {
        if (!definitions.some((each) => each.name === name)) {
          definitions.push({ name, app, environment, description: `${name} (named in config)`, metrics: [] });
        }
      }
    }
  }
  return definitions;
}

const COMPARISONS: Record<string, [string, string]> = {
  LessThanThreshold: ['less than', 'not less than'],
  GreaterThanThreshold: ['greater than', 'not greater than'],
  LessThanOrEqualToThreshold: ['less than or equal to', 'not less than or equal to'],
  GreaterThanOrEqualToThreshold: ['greater than or equal to', 'not greater than or equal to'],
};

/** dd/MM/yy HH:mm:ss, as CloudWatch writes a datapoint's time in a reason. */
const reasonTime = (at: Millis) => {
  const iso = new Date(at).toISOString();
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(2, 4)} ${iso.slice(11, 19)}`;
};

/** What CloudWatch says when the alarm's datapoints cross its threshold one way or the other. */
export function crossing(
  definition: AlarmDefinition,
  value: 'ALARM' | 'OK',
  at: Millis,
): { reason: string; reasonData?: string } {
  if (definition.threshold === undefined || definition.comparison === undefined) {
    return { reason: `Set by the Slipway sandbox to ${value}` };
  }
  const [crossed, notCrossed] = COMPARISONS[definition.comparison] ?? ['beyond', 'not beyond'];
  const periods = definition.evaluationPeriods ?? 1;
  const needed = value === 'ALARM' ? (definition.datapointsToAlarm ?? periods) : periods;
  const minute = Math.floor(at / 60_000) * 60_000;
  const breaching = definition.comparison.startsWith('Less') ? definition.threshold - 1 : definition.threshold + 1;
  const healthy = definition.comparison.startsWith('Less')
    ? definition.threshold
    : Math.max(0, definition.threshold - 1);
  const point = value === 'ALARM' ? breaching : healthy;
  const points = Array.from({ length: needed }, (_, index) => ({ at: minute - (index + 1) * 60_000, value: point }));
  const threshold = definition.threshold.toFixed(1);
  const listed = points.map((each) => `${each.value.toFixed(1)} (${reasonTime(each.at)})`).join(', ');
  const reason =
    value === 'ALARM'
      ? `Threshold Crossed: ${needed} out of the last ${periods} datapoints [${listed}] were ${crossed} the threshold (${threshold}) (minimum ${needed} datapoints for OK -> ALARM transition).`
      : `Threshold Crossed: ${needed} out of the last ${periods} datapoints [${listed}] were ${notCrossed} the threshold (${threshold}) (minimum ${needed} datapoints for ALARM -> OK transition).`;
  const reasonData = JSON.stringify({
    version: '1.0',
    queryDate: cloudWatchTime(at),
    startDate: cloudWatchTime(minute - periods * 60_000),
    period: 60,
    recentDatapoints: points.map((each) => each.value),
    threshold: definition.threshold,
  });
  return { reason, reasonData };
}

const stateValue = (record: AlarmRecord): AlarmStateValue => ({
  value: record.value,
  reason: record.reason,
  ...(record.reasonData ? { reasonData: record.reasonData } : {}),
  timestamp: cloudWatchTime(record.changedAt),
});

/** The alarm's record, OK from the start as an alarm over healthy data is. */
export function alarmRecord(sim: Sim, definition: AlarmDefinition): AlarmRecord {
  let record = sim.state.alarms.find((each) => each.name === definition.name);
  if (!record) {
    const { reason, reasonData } = crossing(definition, 'OK', sim.now);
    record = { name: definition.name, value: 'OK', reason, ...(reasonData ? { reasonData } : {}), changedAt: sim.now };
    sim.state.alarms.push(record);
  }
  return record;
}

/** Moves an alarm to `value` and sends the state change; nothing happens when it is there already. */
export function setAlarm(
  sim: Sim,
  definition: AlarmDefinition,
  value: 'ALARM' | 'OK',
): { changed: boolean; record: AlarmRecord } {
  const record = alarmRecord(sim, definition);
  if (record.value === value) return { changed: false, record };
  const previousState = stateValue(record);
  const { reason, reasonData } = crossing(definition, value, sim.now);
  record.value = value;
  record.reason = reason;
  record.changedAt = sim.now;
  if (reasonData) record.reasonData = reasonData;
  else delete record.reasonData;
  sim.emit(
    alarmStateChange(envelopeOf(sim), {
      alarmArn: arnOf(sim, 'cloudwatch', `alarm:${definition.name}`),
      alarmName: definition.name,
      configuration: { description: definition.description, metrics: definition.metrics },
      state: stateValue(record),
      previousState,
    }),
  );
  return { changed: true, record };
}

/** The environment's alarm to flip: the named one, else its generated availability alarm. */
export function alarmOf(
  definitions: AlarmDefinition[],
  app: string,
  environment: string,
  name?: string,
): AlarmDefinition {
  const own = definitions.filter((each) => each.app === app && each.environment === environment);
  const found = name
    ? own.find((each) => each.name === name)
    : (own.find((each) => each.name.endsWith('-availability')) ?? own[0]);
  if (!found) {
    throw new AwsFault(
      'ResourceNotFound',
      name
        ? `${app}/${environment} has no alarm ${name}; its alarms: ${own.map((each) => each.name).join(', ') || 'none'}`
        : `${app}/${environment} has no alarm: give it a health check (its alarms are generated from them) or name one in alarms`,
      404,
    );
  }
  return found;
}

/**
 * An alarm that fired recovers once a deployment of its environment completes after it fired: the
 * release that broke the health checks is gone, and their datapoints cross back.
 */
export function recoverAlarms(config: SlipwayConfig, definitions: AlarmDefinition[]): (sim: Sim) => void {
  return (sim) => {
    for (const definition of definitions) {
      const record = sim.state.alarms.find((each) => each.name === definition.name);
      if (record?.value !== 'ALARM') continue;
      const env = config.apps[definition.app]?.environments[definition.environment];
      const service = env ? findService(sim, env.cluster, env.service) : undefined;
      const completed = service?.deployments.find(
        (deployment) => deployment.id === service.lastCompleted?.deploymentId,
      );
      if (completed?.rolloutState === 'COMPLETED' && completed.updatedAt > record.changedAt)
        setAlarm(sim, definition, 'OK');
    }
  };
}
