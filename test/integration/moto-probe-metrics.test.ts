import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { AwsCredentialIdentity } from '@smithy/types';
import { AccountCredentials, type Operation } from '../../lib/aws/account-credentials';
import { createCloudWatchClient } from '../../lib/aws/clients/cloudwatch';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createStsClient } from '../../lib/aws/clients/sts';
import { configSchema, type SlipwayConfig } from '../../lib/config/schema';
import { memberAccountTemplate } from '../../lib/events/member-account-template';
import { regionTemplate } from '../../lib/events/region-template';
import { generatedAlarmNames } from '../../lib/health/alarms';
import { type ProbeResult, probeAll, probeTargets } from '../../lib/health/probe';
import { publishProbeResults } from '../../lib/health/probe-metrics';
import { captureEmf } from '../support/emf';
import { motoEndpoint, resetMoto } from '../support/moto';
import { sessionOn } from '../support/moto-aws';

/**
 * The health metrics of an environment in another account, end to end on moto (one backend per account and
 * region, sts:AssumeRole implemented, CloudWatch's PutMetricData, ListMetrics, GetMetricStatistics, PutMetricAlarm
 * and DescribeAlarms too): the control plane in 111111111111/us-east-1 probes shop/staging, placed in
 * 222222222222/eu-west-1, and puts its metrics there as the probes' session on the member account's role, beside
 * the alarms the member template makes of it; shop/frankfurt, in eu-central-1 of the control plane's own account, has
 * its metrics put there with the function's own credentials, beside the alarms that region's stack makes of it
 * (lib/events/region-template.ts); shop/production, at home, goes out as EMF and puts nothing.
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = '222222222222';
const MEMBER_REGION = 'eu-west-1';
const OTHER_REGION = 'eu-central-1';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-test-runProbes`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-member`;
const PROBES: Operation = { id: 'slipway-probes', principal: 'slipway-probes' };

let env: Record<string, string>;
let own: AwsCredentialIdentity;
let seeding: AwsCredentialIdentity;
let accounts: AccountCredentials;
let config: SlipwayConfig;
let app: Server;

const configFor = (url: string) =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: {
      staging: { roleArn: MEMBER_ROLE, externalIdSecret: 'slipway/staging-external-id', regions: [MEMBER_REGION] },
    },
    apps: {
      shop: {
        repository: `${MEMBER}.dkr.ecr.${MEMBER_REGION}.amazonaws.com/shop-backend`,
        containers: ['backend'],
        environments: {
          staging: {
            cluster: 'shop-staging',
            service: 'backend',
            account: 'staging',
            region: MEMBER_REGION,
            health: [{ name: 'ready', url: `${url}/staging/health` }],
          },
          production: { cluster: 'shop-prod', service: 'backend', health: [{ name: 'ready', url: `${url}/health` }] },
          frankfurt: {
            cluster: 'shop-frankfurt',
            service: 'backend',
            region: OTHER_REGION,
            health: [{ name: 'ready', url: `${url}/health` }],
          },
        },
      },
    },
  });

/** CloudWatch in an account's region, as a session of that account (the member's) or the function's own. */
const cloudWatchAt = (credentials: AwsCredentialIdentity, region: string): CloudWatchClient =>
  createCloudWatchClient({ ...env, AWS_REGION: region }, credentials);

const slipwayMetrics = async (cloudWatch: CloudWatchClient) =>
  ((await cloudWatch.send(new ListMetricsCommand({ Namespace: 'Slipway' }))).Metrics ?? []).map((metric) => ({
    name: metric.MetricName,
    dimensions: Object.fromEntries((metric.Dimensions ?? []).map(({ Name, Value }) => [Name, Value])),
  }));

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' };
  // Given staging answering 503 and production 200
  app = createServer((request, response) => {
    response.writeHead(request.url?.startsWith('/staging/') ? 503 : 200, { 'content-type': 'application/json' });
    response.end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  config = configFor(`http://127.0.0.1:${(app.address() as AddressInfo).port}`);
  // And the function's own credentials in the control plane's account, with the member's external id there
  own = await sessionOn(env, FUNCTION_ROLE, 'slipway-test-runProbes');
  const secrets = createSecretsManagerClient(env, own);
  await secrets.send(
    new CreateSecretCommand({ Name: 'slipway/staging-external-id', SecretString: 'shop-staging-7f3a' }),
  );
  accounts = new AccountCredentials(config.accounts, { sts: createStsClient(env, own), secrets, env });
  seeding = await sessionOn(env, MEMBER_ROLE, 'operator-seeding', own);
  // And, in 222222222222/eu-west-1, the alarms the member template makes of staging, as CloudFormation would
  const template = memberAccountTemplate({
    config,
    account: 'staging',
    stage: 'test',
    service: 'slipway',
    controlPlaneRegion: 'us-east-1',
    assumingFunctions: ['runProbes'],
    vaultFunctions: [],
  }) as { Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }> };
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
    expect(resource.Condition).toBe('InEuWest1');
    await cloudWatchAt(seeding, MEMBER_REGION).send(
      new PutMetricAlarmCommand(resource.Properties as unknown as PutMetricAlarmCommandInput),
    );
  }
});

beforeAll(async () => {
  // And, in 111111111111/eu-central-1, the alarms that region's stack makes of frankfurt, as CloudFormation would
  const template = regionTemplate({
    config,
    stage: 'test',
    service: 'slipway',
    controlPlaneRegion: 'us-east-1',
    region: OTHER_REGION,
  }) as { Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }> };
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
    expect(resource.Condition).toBe('InEuCentral1');
    await cloudWatchAt(own, OTHER_REGION).send(
      new PutMetricAlarmCommand(resource.Properties as unknown as PutMetricAlarmCommandInput),
    );
  }
});

afterAll(async () => {
  await new Promise((resolve) => app?.close(resolve));
});

describe('a probe run from 111111111111/us-east-1 with shop/staging in 222222222222/eu-west-1', () => {
  let results: ProbeResult[];
  let documents: Array<Record<string, unknown>>;
  let outcome: { unpublished: number } | undefined;

  beforeAll(async () => {
    // When the probes run and their results are published as runProbes publishes them
    results = await probeAll(probeTargets(config), { concurrency: 2 });
    documents = await captureEmf(async () => {
      outcome = await publishProbeResults(config, results, {
        metrics: new Metrics({ namespace: 'Slipway', serviceName: 'slipway' }),
        homeRegion: 'us-east-1',
        // A member account's as the probes' session; another region of home's with the function's own credentials,
        // which lib/wiring's shared clients take from Lambda's environment (here, moto's session of its role).
        cloudWatchIn: (place) =>
          place.account === undefined
            ? cloudWatchAt(own, place.region ?? 'us-east-1')
            : accounts.client(createCloudWatchClient, place, PROBES),
        now: () => new Date(),
      });
    });
  });

  it('puts staging’s metrics in the member account’s eu-west-1, with the dimensions its alarms select', async () => {
    expect(results.map(({ environment, ok }) => [environment, ok])).toEqual([
      ['staging', false],
      ['production', true],
      ['frankfurt', true],
    ]);
    expect(outcome).toEqual({ unpublished: 0 });

    // Then the member account's eu-west-1 holds staging's availability and latency
    const staging = { App: 'shop', Environment: 'staging', Check: 'ready' };
    const member = cloudWatchAt(seeding, MEMBER_REGION);
    expect((await slipwayMetrics(member)).sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
      { name: 'Availability', dimensions: staging },
      { name: 'LatencyMs', dimensions: staging },
    ]);
    const availability = await member.send(
      new GetMetricStatisticsCommand({
        Namespace: 'Slipway',
        MetricName: 'Availability',
        Dimensions: Object.entries(staging).map(([Name, Value]) => ({ Name, Value })),
        StartTime: new Date(Date.now() - 3_600_000),
        EndTime: new Date(Date.now() + 60_000),
        Period: 60,
        Statistics: ['Average'],
      }),
    );
    expect(availability.Datapoints?.map((point) => point.Average)).toEqual([0]);
  });

  it('beside the alarms the member template makes of staging, under the names UpdateService is handed', async () => {
    // Given the alarms in the member account's eu-west-1
    const { MetricAlarms } = await cloudWatchAt(seeding, MEMBER_REGION).send(new DescribeAlarmsCommand({}));

    // Then they are staging's generated alarms, and they select the metrics the probe put there
    const staging = config.apps.shop?.environments.staging as SlipwayConfig['apps'][string]['environments'][string];
    expect(MetricAlarms?.map((alarm) => alarm.AlarmName).sort()).toEqual(
      generatedAlarmNames('test', 'shop', 'staging', staging),
    );
    const selected = (MetricAlarms ?? []).flatMap((alarm) =>
      (alarm.Metrics ?? []).flatMap((query) =>
        query.MetricStat?.Metric
          ? [
              {
                namespace: query.MetricStat.Metric.Namespace,
                name: query.MetricStat.Metric.MetricName,
                dimensions: Object.fromEntries(
                  (query.MetricStat.Metric.Dimensions ?? []).map(({ Name, Value }) => [Name, Value]),
                ),
              },
            ]
          : [],
      ),
    );
    const put = await slipwayMetrics(cloudWatchAt(seeding, MEMBER_REGION));
    expect(selected.map(({ name }) => name).sort()).toEqual(['Availability', 'LatencyMs']);
    for (const query of selected) {
      expect(query.namespace).toBe('Slipway');
      expect(put).toContainEqual({ name: query.name, dimensions: query.dimensions });
    }
  });

  it('puts frankfurt’s metrics in eu-central-1 of the control plane’s account, beside that region’s alarms', async () => {
    // Then the control plane's eu-central-1 holds frankfurt's availability and latency, as the function put them
    const frankfurt = { App: 'shop', Environment: 'frankfurt', Check: 'ready' };
    const there = cloudWatchAt(own, OTHER_REGION);
    expect((await slipwayMetrics(there)).sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
      { name: 'Availability', dimensions: frankfurt },
      { name: 'LatencyMs', dimensions: frankfurt },
    ]);
    // And its alarms there are named as UpdateService is handed them, and select those metrics
    const { MetricAlarms } = await there.send(new DescribeAlarmsCommand({}));
    const env = config.apps.shop?.environments.frankfurt as SlipwayConfig['apps'][string]['environments'][string];
    expect(MetricAlarms?.map((alarm) => alarm.AlarmName).sort()).toEqual(
      generatedAlarmNames('test', 'shop', 'frankfurt', env),
    );
    const selected = (MetricAlarms ?? []).flatMap((alarm) =>
      (alarm.Metrics ?? []).flatMap((query) => (query.MetricStat?.Metric ? [query.MetricStat.Metric] : [])),
    );
    expect(selected.map((metric) => metric.MetricName).sort()).toEqual(['Availability', 'LatencyMs']);
    for (const metric of selected) {
      expect(Object.fromEntries((metric.Dimensions ?? []).map(({ Name, Value }) => [Name, Value]))).toEqual(frankfurt);
    }
  });

  it('puts nothing at home, nor in the member account’s other region: production went out as EMF', async () => {
    // Then the control plane's account holds no Slipway metric in either region
    for (const region of ['us-east-1', MEMBER_REGION]) {
      expect(await slipwayMetrics(cloudWatchAt(own, region))).toEqual([]);
    }
    expect(await slipwayMetrics(cloudWatchAt(seeding, 'us-east-1'))).toEqual([]);
    // And production's availability is an EMF document, staging's none
    expect(documents.filter((document) => 'Availability' in document).map((document) => document.Environment)).toEqual([
      'production',
    ]);
  });
});
