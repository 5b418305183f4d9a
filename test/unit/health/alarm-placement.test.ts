import { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { configSchema, type EnvironmentConfig } from '../../../lib/config/schema';
import { alarmEventSource, healthAlarmPlace } from '../../../lib/health/alarm-placement';
import { healthAlarmResources } from '../../../lib/health/alarms';
import type { ProbeResult } from '../../../lib/health/probe';
import { probeMetricData, publishProbeResults, resultsByMetricsPlace } from '../../../lib/health/probe-metrics';
import { captureEmf } from '../../support/emf';

/**
 * Where an environment's health metrics and alarms are: beside its service, as ECS looks the alarms it rolls back
 * on up where the service is (ECS API Reference, DeploymentAlarms): the control plane's stack's for an environment
 * in its own account and region, the member account's (in the service's region) for one config places in an
 * account, the regional stack's (lib/events/region-template.ts) for one in another region of the control plane's.
 */

const MEMBER_ROLE = 'arn:aws:iam::222222222222:role/slipway-member';
const HOME = { account: '111111111111', region: 'us-east-1' };
const check = [{ url: 'https://shop.example.com/health' }];

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: { staging: { roleArn: MEMBER_ROLE, regions: ['eu-west-1'] } },
  apps: {
    shop: {
      repository: '111111111111.dkr.ecr.us-east-1.amazonaws.com/shop',
      containers: ['app'],
      environments: {
        production: { cluster: 'shop-prod', service: 'web', health: check, alarms: ['shop-prod-5xx'] },
        staging: {
          cluster: 'shop-staging',
          service: 'web',
          account: 'staging',
          region: 'eu-west-1',
          health: check,
          alarms: ['shop-staging-5xx'],
        },
        preview: { cluster: 'shop-preview', service: 'web', account: 'staging', health: check },
        oregon: { cluster: 'shop-oregon', service: 'web', region: 'us-west-2', health: check },
        virginia: { cluster: 'shop-virginia', service: 'web', region: 'us-east-1', health: check },
      },
    },
  },
});
const env = (name: string) => config.apps.shop?.environments[name] as EnvironmentConfig;

const result = (environment: string, ok: boolean, extra: Partial<ProbeResult> = {}): ProbeResult => ({
  app: 'shop',
  environment,
  check: 'check-1',
  url: 'https://shop.example.com/health',
  ok,
  ...extra,
});

describe('healthAlarmPlace', () => {
  it('puts the alarms of an environment in a member account there, in another region of home there, every other at home', () => {
    expect(healthAlarmPlace(env('staging'), HOME.region)).toEqual({ account: 'staging', region: 'eu-west-1' });
    // Given no region, the member account's stack in the control plane's region: the service's too
    expect(healthAlarmPlace(env('preview'), HOME.region)).toEqual({ account: 'staging', region: undefined });
    expect(healthAlarmPlace(env('production'), HOME.region)).toEqual({});
    // Given another region of the control plane's account: that region's stack
    expect(healthAlarmPlace(env('oregon'), HOME.region)).toEqual({ region: 'us-west-2' });
    // Given the control plane's region named: its own stack, as if none were named
    expect(healthAlarmPlace(env('virginia'), HOME.region)).toEqual({});
  });
});

describe('healthAlarmResources (the control plane’s stack)', () => {
  it('makes no alarm of an environment in a member account or in another region: their own stacks hold them', () => {
    // When the control plane's alarms are made, in us-east-1
    const names = Object.values(healthAlarmResources(config, 'prod', 'topic', HOME.region)).map(
      (resource) => resource.Properties.AlarmName,
    );

    // Then they are those of production and virginia alone
    expect(names.sort()).toEqual([
      'slipway-prod-shop-production-availability',
      'slipway-prod-shop-production-latency',
      'slipway-prod-shop-virginia-availability',
      'slipway-prod-shop-virginia-latency',
    ]);
  });

  it('keeps another region’s where no region is known (the sandbox, every region at once)', () => {
    const names = Object.values(healthAlarmResources(config, 'prod', 'topic')).map(
      (resource) => resource.Properties.AlarmName,
    );

    expect(names).toContain('slipway-prod-shop-oregon-availability');
    expect(names).not.toContain('slipway-prod-shop-staging-availability');
  });
});

describe('alarmEventSource', () => {
  it('expects an alarm’s events from where the service is: its generated alarms and ECS’s are there', () => {
    expect(alarmEventSource(config, env('staging'), HOME)).toEqual({ account: '222222222222', region: 'eu-west-1' });
    expect(alarmEventSource(config, env('preview'), HOME)).toEqual({ account: '222222222222', region: 'us-east-1' });
    expect(alarmEventSource(config, env('production'), HOME)).toEqual(HOME);
    // Given an environment in another region of home: its alarms are that region's stack's
    expect(alarmEventSource(config, env('oregon'), HOME)).toEqual({ ...HOME, region: 'us-west-2' });
  });
});

describe('resultsByMetricsPlace', () => {
  it('keeps the results of home’s environments for EMF and groups the others by member account and region', () => {
    // Given a run's results of every environment, and one of an environment config no longer names
    const results = [
      result('production', true),
      result('staging', false),
      result('preview', true),
      result('oregon', true),
      result('staging', true, { check: 'check-2' }),
      result('gone', true),
      result('virginia', true),
    ];

    // When they are placed, with the control plane in us-east-1
    const { home, elsewhere } = resultsByMetricsPlace(config, results, HOME.region);

    // Then production, virginia and the unknown one stay at home, staging's two go to eu-west-1, preview's to home's
    // region of account staging, oregon's to us-west-2 of the control plane's own account
    expect(home.map(({ environment }) => environment)).toEqual(['production', 'gone', 'virginia']);
    expect(elsewhere).toEqual([
      { place: { account: 'staging', region: 'eu-west-1' }, results: [results[1], results[4]] },
      { place: { account: 'staging', region: undefined }, results: [results[2]] },
      { place: { account: undefined, region: 'us-west-2' }, results: [results[3]] },
    ]);
  });
});

describe('probeMetricData', () => {
  it('writes the metrics, dimensions and units the EMF documents carry, stamped with the run’s time', () => {
    const at = new Date('2026-12-06T12:00:00Z');
    const data = probeMetricData(
      [result('staging', true, { latencyMs: 42, certDaysRemaining: 30 }), result('staging', false)],
      at,
    );

    const dimensions = [
      { Name: 'App', Value: 'shop' },
      { Name: 'Environment', Value: 'staging' },
      { Name: 'Check', Value: 'check-1' },
    ];
    expect(data).toEqual([
      { MetricName: 'Availability', Dimensions: dimensions, Unit: 'Count', Value: 1, Timestamp: at },
      { MetricName: 'LatencyMs', Dimensions: dimensions, Unit: 'Milliseconds', Value: 42, Timestamp: at },
      { MetricName: 'CertDaysRemaining', Dimensions: dimensions, Unit: 'Count', Value: 30, Timestamp: at },
      { MetricName: 'Availability', Dimensions: dimensions, Unit: 'Count', Value: 0, Timestamp: at },
    ]);
  });
});

describe('publishProbeResults', () => {
  const at = new Date('2026-12-06T12:00:00Z');

  it('writes home’s results as EMF and a member account’s with PutMetricData there, in Slipway’s namespace', async () => {
    // Given CloudWatch clients per place
    const asked: Array<{ account: string | undefined; region: string | undefined }> = [];
    const cloudWatch = new CloudWatchClient({ region: 'eu-west-1' });
    const mock = mockClient(cloudWatch);
    mock.on(PutMetricDataCommand).resolves({});

    // When production's and staging's results are published
    let outcome: { unpublished: number } | undefined;
    const documents = await captureEmf(async () => {
      outcome = await publishProbeResults(config, [result('production', true), result('staging', false)], {
        metrics: new Metrics({ namespace: 'Slipway', serviceName: 'slipway' }),
        homeRegion: HOME.region,
        cloudWatchIn: (place) => {
          asked.push(place);
          return cloudWatch;
        },
        now: () => at,
      });
    });

    // Then production's availability is an EMF document at home, and no other environment's is
    expect(documents.map((document) => document.Environment)).toEqual(['production']);
    // And staging's is put in account staging's eu-west-1, in the namespace its alarms select
    expect(asked).toEqual([{ account: 'staging', region: 'eu-west-1' }]);
    const calls = mock.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input);
    expect(calls).toEqual([
      {
        Namespace: 'Slipway',
        MetricData: [
          {
            MetricName: 'Availability',
            Dimensions: [
              { Name: 'App', Value: 'shop' },
              { Name: 'Environment', Value: 'staging' },
              { Name: 'Check', Value: 'check-1' },
            ],
            Unit: 'Count',
            Value: 0,
            Timestamp: at,
          },
        ],
      },
    ]);
    expect(outcome).toEqual({ unpublished: 0 });
  });

  it('still writes every other place when one account refuses, and counts what it could not write', async () => {
    // Given eu-west-1's CloudWatch refusing, and home's region's answering
    const refusing = new CloudWatchClient({ region: 'eu-west-1' });
    mockClient(refusing)
      .on(PutMetricDataCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const answering = new CloudWatchClient({ region: 'us-east-1' });
    const answered = mockClient(answering);
    answered.on(PutMetricDataCommand).resolves({});

    // When staging's two checks and preview's one are published
    const outcome = await publishProbeResults(
      config,
      [result('staging', true), result('staging', true, { check: 'check-2' }), result('preview', true)],
      {
        metrics: new Metrics({ namespace: 'Slipway', serviceName: 'slipway' }),
        homeRegion: HOME.region,
        cloudWatchIn: (place) => (place.region === 'eu-west-1' ? refusing : answering),
        now: () => at,
      },
    );

    // Then preview's went out, and staging's two are counted as unpublished
    expect(answered.commandCalls(PutMetricDataCommand)).toHaveLength(1);
    expect(outcome).toEqual({ unpublished: 2 });
  });

  it('puts at most 1,000 datums a request (CloudWatch API Reference, PutMetricData)', async () => {
    const cloudWatch = new CloudWatchClient({ region: 'eu-west-1' });
    const mock = mockClient(cloudWatch);
    mock.on(PutMetricDataCommand).resolves({});
    // Given 600 checks with a latency each: 1,200 datums
    const results = Array.from({ length: 600 }, (_, index) =>
      result('staging', true, { check: `check-${index}`, latencyMs: 5 }),
    );

    await publishProbeResults(config, results, {
      metrics: new Metrics({ namespace: 'Slipway', serviceName: 'slipway' }),
      homeRegion: HOME.region,
      cloudWatchIn: () => cloudWatch,
      now: () => at,
    });

    expect(mock.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input.MetricData?.length)).toEqual([
      1000, 200,
    ]);
  });
});
