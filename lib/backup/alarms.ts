import { type CloudFormationResource, logicalId } from '../aws/cloudformation';
import type { SlipwayConfig } from '../config/schema';
import { nextRun, parseSchedule } from '../local/schedule';

/**
 * The alarms that prove backups keep happening, generated from config like the health alarms:
 * a database's newest successful backup older than twice its schedule interval, a restore drill
 * that failed, and no drill that succeeded in two drill intervals.
 */

const HOUR_MS = 3_600_000;
// CloudWatch evaluates at most seven days of hourly periods.
const MAX_HOURLY_PERIODS = 168;

/** The longest gap between two runs of a schedule over the coming weeks. */
export function scheduleIntervalMs(expression: string, from = new Date('2026-01-05T00:00:00Z')): number {
  const schedule = parseSchedule(expression);
  let longest = 0;
  let previous = nextRun(schedule, from, from);
  for (let run = 0; run < 60; run++) {
    const next = nextRun(schedule, previous, from);
    longest = Math.max(longest, next.getTime() - previous.getTime());
    previous = next;
  }
  return longest;
}

export function backupAlarmResources(
  config: SlipwayConfig,
  stage: string,
  topic: unknown,
): Record<string, CloudFormationResource> {
  const resources: Record<string, CloudFormationResource> = {};
  const actions = { ActionsEnabled: true, AlarmActions: [topic], OKActions: [topic] };
  for (const [database, db] of Object.entries(config.databases)) {
    const dimensions = [{ Name: 'Database', Value: database }];
    const staleMinutes = Math.ceil((2 * scheduleIntervalMs(db.schedule)) / 60_000);
    resources[logicalId('BackupStaleAlarm', database)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: `slipway-${stage}-${database}-backup-stale`,
        AlarmDescription: `Slipway: the newest successful backup of ${database} is older than twice its schedule (${staleMinutes} minutes)`,
        Namespace: 'Slipway',
        MetricName: 'NewestBackupAgeMinutes',
        Dimensions: dimensions,
        Statistic: 'Maximum',
        Period: 900,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: staleMinutes,
        // The reconciler reports the age every 5 minutes; silence means it stopped.
        TreatMissingData: 'breaching',
      },
    };
    if (!db.restoreDrill) continue;
    resources[logicalId('DrillFailedAlarm', database)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: `slipway-${stage}-${database}-drill-failed`,
        AlarmDescription: `Slipway: a restore drill of ${database} failed`,
        Namespace: 'Slipway',
        MetricName: 'DrillFailures',
        Dimensions: dimensions,
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      },
    };
    const periods = Math.min(
      MAX_HOURLY_PERIODS,
      Math.ceil((2 * scheduleIntervalMs(db.restoreDrill.schedule)) / HOUR_MS),
    );
    resources[logicalId('DrillOverdueAlarm', database)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: `slipway-${stage}-${database}-drill-overdue`,
        AlarmDescription: `Slipway: no restore drill of ${database} succeeded in two drill intervals`,
        Namespace: 'Slipway',
        MetricName: 'DrillSuccesses',
        Dimensions: dimensions,
        Statistic: 'Sum',
        Period: 3600,
        // Every hour of the window without a success breaches: the alarm fires only when none succeeded.
        EvaluationPeriods: periods,
        DatapointsToAlarm: periods,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
      },
    };
  }
  return resources;
}
