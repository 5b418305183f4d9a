import { backupAlarmResources, scheduleIntervalMs } from '../../../lib/backup/alarms';
import { archiveDimensions } from '../../../lib/backup/archives-context';
import { configSchema, type SlipwayConfig } from '../../../lib/config/schema';

const TOPIC = { Ref: 'NotificationsTopic' };
const STAGE = 'prod';
const volume = { fileSystemId: 'fs-0123456789abcdef0', accessPointId: 'fsap-0123456789abcdef0' };

/** shop-db: daily snapshots (no drill), daily dumps with a daily drill; shop-uploads with a weekly drill; shop-logs without. */
const config: SlipwayConfig = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  databases: {
    'shop-db': {
      rdsInstance: 'shop-prod-db',
      schedule: 'cron(0 3 * * ? *)',
      dump: {
        credentialsSecret: 'slipway/shop-db-dump',
        schedule: 'cron(0 4 * * ? *)',
        restoreDrill: { schedule: 'cron(0 7 * * ? *)' },
      },
    },
  },
  volumes: {
    'shop-uploads': { ...volume, schedule: 'cron(30 3 * * ? *)', restoreDrill: { schedule: 'cron(30 7 ? * SUN *)' } },
    'shop-logs': { ...volume, schedule: 'rate(6 hours)' },
  },
  worker: {
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0',
    subnetIds: ['subnet-0a1b2c3d4e5f60718'],
    securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
  },
});

const actions = { ActionsEnabled: true, AlarmActions: [TOPIC], OKActions: [TOPIC] };

/** The properties of resource `id`, failing the test when there is none. */
function propertiesOf(resources: ReturnType<typeof backupAlarmResources>, id: string): Record<string, unknown> {
  const resource = resources[id];
  if (!resource) throw new Error(`no resource ${id}; there are ${Object.keys(resources).join(', ')}`);
  expect(resource.Type).toBe('AWS::CloudWatch::Alarm');
  return resource.Properties;
}

describe('scheduleIntervalMs', () => {
  it.each([
    ['a daily cron', 'cron(0 4 * * ? *)', 24 * 60],
    ['a weekly cron', 'cron(30 7 ? * SUN *)', 7 * 24 * 60],
    ['a rate in hours', 'rate(6 hours)', 6 * 60],
  ])('given %s, when its interval is measured, then it is the gap between runs', (_label, expression, minutes) => {
    // when
    const interval = scheduleIntervalMs(expression);

    // then
    expect(interval).toBe(minutes * 60_000);
  });
});

describe('backupAlarmResources', () => {
  it('given a database with a drilled dump, a drilled volume and a volume without drill, when alarms are generated, then each subject gets exactly its alarms', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    expect(Object.keys(resources).sort()).toEqual(
      [
        'BackupStaleAlarmShopDb',
        'BackupStaleAlarmShopDbDump',
        'DrillFailedAlarmShopDbDump',
        'DrillOverdueAlarmShopDbDump',
        'BackupStaleAlarmVolumeShopUploads',
        'DrillFailedAlarmVolumeShopUploads',
        'DrillOverdueAlarmVolumeShopUploads',
        'BackupStaleAlarmVolumeShopLogs',
      ].sort(),
    );
    expect(Object.fromEntries(Object.entries(resources).map(([id, r]) => [id, r.Properties.AlarmName]))).toEqual({
      BackupStaleAlarmShopDb: 'slipway-prod-shop-db-backup-stale',
      BackupStaleAlarmShopDbDump: 'slipway-prod-shop-db-dump-backup-stale',
      DrillFailedAlarmShopDbDump: 'slipway-prod-shop-db-dump-drill-failed',
      DrillOverdueAlarmShopDbDump: 'slipway-prod-shop-db-dump-drill-overdue',
      BackupStaleAlarmVolumeShopUploads: 'slipway-prod-volume-shop-uploads-backup-stale',
      DrillFailedAlarmVolumeShopUploads: 'slipway-prod-volume-shop-uploads-drill-failed',
      DrillOverdueAlarmVolumeShopUploads: 'slipway-prod-volume-shop-uploads-drill-overdue',
      BackupStaleAlarmVolumeShopLogs: 'slipway-prod-volume-shop-logs-backup-stale',
    });
  });

  it('given each subject, when alarms are generated, then they carry the dimensions the metrics are published with', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    expect(Object.fromEntries(Object.entries(resources).map(([id, r]) => [id, r.Properties.Dimensions]))).toEqual({
      BackupStaleAlarmShopDb: [{ Name: 'Database', Value: 'shop-db' }],
      BackupStaleAlarmShopDbDump: [{ Name: 'Dump', Value: 'shop-db' }],
      DrillFailedAlarmShopDbDump: [{ Name: 'Dump', Value: 'shop-db' }],
      DrillOverdueAlarmShopDbDump: [{ Name: 'Dump', Value: 'shop-db' }],
      BackupStaleAlarmVolumeShopUploads: [{ Name: 'Volume', Value: 'shop-uploads' }],
      DrillFailedAlarmVolumeShopUploads: [{ Name: 'Volume', Value: 'shop-uploads' }],
      DrillOverdueAlarmVolumeShopUploads: [{ Name: 'Volume', Value: 'shop-uploads' }],
      BackupStaleAlarmVolumeShopLogs: [{ Name: 'Volume', Value: 'shop-logs' }],
    });
  });

  it('given the dimensions the worker publishes archive metrics with, when alarms are generated, then they match', () => {
    // given
    const asAlarmDimensions = (dimensions: Record<string, string>) =>
      Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value }));

    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    expect(propertiesOf(resources, 'BackupStaleAlarmShopDbDump').Dimensions).toEqual(
      asAlarmDimensions(archiveDimensions({ database: 'shop-db' })),
    );
    expect(propertiesOf(resources, 'DrillFailedAlarmVolumeShopUploads').Dimensions).toEqual(
      asAlarmDimensions(archiveDimensions({ volume: 'shop-uploads' })),
    );
  });

  it('given the schedules, when alarms are generated, then a backup is stale after twice its interval, in minutes', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then daily crons give 2 × 1440 and rate(6 hours) gives 2 × 360
    expect(propertiesOf(resources, 'BackupStaleAlarmShopDb').Threshold).toBe(2880);
    expect(propertiesOf(resources, 'BackupStaleAlarmShopDbDump').Threshold).toBe(2880);
    expect(propertiesOf(resources, 'BackupStaleAlarmVolumeShopUploads').Threshold).toBe(2880);
    expect(propertiesOf(resources, 'BackupStaleAlarmVolumeShopLogs').Threshold).toBe(720);
  });

  it('given the dumps of shop-db, when alarms are generated, then the stale alarm is exactly this', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    expect(resources.BackupStaleAlarmShopDbDump).toEqual({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: 'slipway-prod-shop-db-dump-backup-stale',
        AlarmDescription:
          'Slipway: the newest successful backup of the dumps of shop-db is older than twice its schedule (2880 minutes)',
        Namespace: 'Slipway',
        MetricName: 'NewestBackupAgeMinutes',
        Dimensions: [{ Name: 'Dump', Value: 'shop-db' }],
        Statistic: 'Maximum',
        Period: 900,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 2880,
        TreatMissingData: 'breaching',
      },
    });
  });

  it('given a volume with a drill, when alarms are generated, then one failed drill fires the drill-failed alarm', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    expect(resources.DrillFailedAlarmVolumeShopUploads).toEqual({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: 'slipway-prod-volume-shop-uploads-drill-failed',
        AlarmDescription: 'Slipway: a restore drill of volume shop-uploads failed',
        Namespace: 'Slipway',
        MetricName: 'DrillFailures',
        Dimensions: [{ Name: 'Volume', Value: 'shop-uploads' }],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      },
    });
  });

  it('given a daily dump drill, when alarms are generated, then the overdue alarm fires when the last drill that passed is two days old', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    expect(resources.DrillOverdueAlarmShopDbDump).toEqual({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...actions,
        AlarmName: 'slipway-prod-shop-db-dump-drill-overdue',
        AlarmDescription:
          'Slipway: no restore drill of the dumps of shop-db succeeded in two drill intervals (2880 minutes)',
        Namespace: 'Slipway',
        MetricName: 'NewestDrillAgeMinutes',
        Dimensions: [{ Name: 'Dump', Value: 'shop-db' }],
        Statistic: 'Maximum',
        Period: 900,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 2880,
        TreatMissingData: 'breaching',
      },
    });
  });

  it('given a weekly volume drill, when alarms are generated, then the overdue threshold is two weeks, beyond the seven days a count could cover', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    const overdue = propertiesOf(resources, 'DrillOverdueAlarmVolumeShopUploads');
    expect(overdue).toMatchObject({ MetricName: 'NewestDrillAgeMinutes', Period: 900, EvaluationPeriods: 1 });
    expect(overdue.Threshold).toBe(2 * 7 * 24 * 60);
  });

  it('given a database without a snapshot drill, when alarms are generated, then it has no drill alarms of its own', () => {
    // when
    const resources = backupAlarmResources(config, STAGE, TOPIC);

    // then
    expect(resources.DrillFailedAlarmShopDb).toBeUndefined();
    expect(resources.DrillOverdueAlarmShopDb).toBeUndefined();
    expect(resources.DrillFailedAlarmVolumeShopLogs).toBeUndefined();
    expect(resources.DrillOverdueAlarmVolumeShopLogs).toBeUndefined();
  });

  it('given another stage and topic, when alarms are generated, then names and actions follow them', () => {
    // given
    const topic = 'arn:aws:sns:us-east-1:123456789012:slipway-staging-notifications';

    // when
    const resources = backupAlarmResources(config, 'staging', topic);

    // then
    for (const resource of Object.values(resources)) {
      expect(resource.Properties.AlarmName).toMatch(/^slipway-staging-/);
      expect(resource.Properties).toMatchObject({ ActionsEnabled: true, AlarmActions: [topic], OKActions: [topic] });
    }
  });

  it('given no databases and no volumes, when alarms are generated, then there are none', () => {
    // given
    const empty = configSchema.parse({ auth: { tokensSecret: 'slipway/api-tokens' } });

    // when
    const resources = backupAlarmResources(empty, STAGE, TOPIC);

    // then
    expect(resources).toEqual({});
  });
});
