import { type CloudFormationResource, logicalId } from '../aws/cloudformation';
import { nextRun, parseSchedule } from '../aws/schedules';
import type { SlipwayConfig } from '../config/schema';
import { slipwayAlarmPrefix } from '../health/alarms';

/**
 * The alarms that prove backups keep happening, generated from config like the health alarms:
 * for each database, each database's dumps and each volume, the newest successful backup older
 * than twice its schedule interval, a restore drill that failed, and no drill that succeeded in
 * two drill intervals.
 */

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

interface AlarmSubject {
  /** For logical ids and alarm names: the database, `<database>-dump` or `volume-<volume>`. */
  key: string;
  /** For people: "shop-db", "the dumps of shop-db", "volume shop-uploads". */
  label: string;
  dimensions: Array<{ Name: string; Value: string }>;
  schedule: string;
  drillSchedule: string | undefined;
}

/** Every subject backups are taken of: databases (snapshots), their dumps, and volumes. */
function alarmSubjects(config: SlipwayConfig): AlarmSubject[] {
  return [
    ...Object.entries(config.databases).flatMap(([database, db]) => [
      {
        key: database,
        label: database,
        dimensions: [{ Name: 'Database', Value: database }],
        schedule: db.schedule,
        drillSchedule: db.restoreDrill?.schedule,
      },
      ...(db.dump
        ? [
            {
              key: `${database}-dump`,
              label: `the dumps of ${database}`,
              // The dimensions lib/backup/archives.ts publishes with.
              dimensions: [{ Name: 'Dump', Value: database }],
              schedule: db.dump.schedule,
              drillSchedule: db.dump.restoreDrill?.schedule,
            },
          ]
        : []),
    ]),
    ...Object.entries(config.volumes).map(([volume, v]) => ({
      key: `volume-${volume}`,
      label: `volume ${volume}`,
      dimensions: [{ Name: 'Volume', Value: volume }],
      schedule: v.schedule,
      drillSchedule: v.restoreDrill?.schedule,
    })),
  ];
}

export function backupAlarmResources(
  config: SlipwayConfig,
  stage: string,
  topic: unknown,
): Record<string, CloudFormationResource> {
  const resources: Record<string, CloudFormationResource> = {};
  const actions = { ActionsEnabled: true, AlarmActions: [topic], OKActions: [topic] };
  for (const subject of alarmSubjects(config)) {
    const { key, label, dimensions } = subject;
    const staleMinutes = Math.ceil((2 * scheduleIntervalMs(subject.schedule)) / 60_000);
    resources[logicalId('BackupStaleAlarm', key)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: `${slipwayAlarmPrefix(stage)}${key}-backup-stale`,
        AlarmDescription: `Slipway: the newest successful backup of ${label} is older than twice its schedule (${staleMinutes} minutes)`,
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
    if (!subject.drillSchedule) continue;
    resources[logicalId('DrillFailedAlarm', key)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: `${slipwayAlarmPrefix(stage)}${key}-drill-failed`,
        AlarmDescription: `Slipway: a restore drill of ${label} failed`,
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
    const drillStaleMinutes = Math.ceil((2 * scheduleIntervalMs(subject.drillSchedule)) / 60_000);
    resources[logicalId('DrillOverdueAlarm', key)] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: `${slipwayAlarmPrefix(stage)}${key}-drill-overdue`,
        AlarmDescription: `Slipway: no restore drill of ${label} succeeded in two drill intervals (${drillStaleMinutes} minutes)`,
        Namespace: 'Slipway',
        // A gauge the reconciler reports every 5 minutes: a count of successes could look back only 7 days.
        MetricName: 'NewestDrillAgeMinutes',
        Dimensions: dimensions,
        Statistic: 'Maximum',
        Period: 900,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: drillStaleMinutes,
        TreatMissingData: 'breaching',
      },
    };
  }
  return resources;
}
