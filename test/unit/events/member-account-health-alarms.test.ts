import { loadStageConfig } from '../../../lib/config/load';
import type { SlipwayConfig } from '../../../lib/config/schema';
import { memberAccountTemplate } from '../../../lib/events/member-account-template';
import { generatedAlarmNames, healthAlarmResources } from '../../../lib/health/alarms';
import { memberInputs, placedKitchenSink as placedWithApi } from '../../support/member-accounts';

/**
 * The health alarms of environments placed in a member account are that account's template's: the same names,
 * metrics and thresholds the control plane gives the others, so they are the alarms Slipway hands to UpdateService
 * (ECS looks them up by name where the service is: ECS API Reference, DeploymentAlarms), in the environment's
 * region; and the target role may publish their metrics there, in Slipway's namespace. IAM's decisions are
 * test/template/member-account.test.ts's.
 */

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read here by its paths
type Json = Record<string, any>;

const alarmsOf = (template: Json) =>
  Object.fromEntries(
    Object.entries(template.Resources as Record<string, Json>).filter(
      ([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm',
    ),
  );

/** The kitchen sink with shop and web placed, without app api: shop/staging the one probed environment of account staging. */
function placedKitchenSink(): SlipwayConfig {
  const config = placedWithApi();
  delete config.apps.api;
  return config;
}

describe('the health alarms of a member account', () => {
  it('holds those of the placed environments with health checks, each in its region, named as UpdateService is handed them', () => {
    // Given shop/staging (health checks) placed in account staging's eu-west-1, and web/production (none) in us-east-1
    const config = placedKitchenSink();

    // When the account's template is made
    const alarms = alarmsOf(memberAccountTemplate(memberInputs('staging', config)) as Json);

    // Then it holds shop/staging's two alarms, made only in eu-west-1, under the names the deployment hands to ECS
    expect(Object.keys(alarms).sort()).toEqual(['HealthAlarmShopStagingAvailability', 'HealthAlarmShopStagingLatency']);
    expect(Object.values(alarms).map((alarm) => alarm.Condition)).toEqual(['InEuWest1', 'InEuWest1']);
    expect(Object.values(alarms).map((alarm) => alarm.Properties.AlarmName)).toEqual(
      generatedAlarmNames('kitchen-sink', 'shop', 'staging', config.apps.shop?.environments.staging as never),
    );
  });

  it('gives them the control plane’s metrics and thresholds, with no action of the control plane’s', () => {
    // Given the alarms the control plane makes of shop/staging while it is in its own account
    const home = healthAlarmResources(loadStageConfig('kitchen-sink'), 'kitchen-sink', { Ref: 'NotificationsTopic' });

    // When the same environment is placed in account staging
    const alarms = alarmsOf(memberAccountTemplate(memberInputs('staging', placedKitchenSink())) as Json);

    // Then its alarms there are the same but for the topic, which is the control plane's: their state changes reach
    // it as forwarded events instead
    expect(Object.keys(alarms)).toHaveLength(2);
    for (const [id, alarm] of Object.entries(alarms)) {
      const { AlarmActions, OKActions, ...properties } = (home[id] as Json).Properties;
      expect(AlarmActions).toEqual([{ Ref: 'NotificationsTopic' }]);
      expect(OKActions).toEqual([{ Ref: 'NotificationsTopic' }]);
      expect(alarm.Properties).toEqual(properties);
      expect(alarm.Properties.Metrics[0].MetricStat.Metric.Namespace).toBe('Slipway');
    }
  });

  it('leaves them out of the control plane’s stack once the environment is placed elsewhere', () => {
    const names = Object.values(healthAlarmResources(placedKitchenSink(), 'kitchen-sink', 'topic')).map(
      (alarm) => alarm.Properties.AlarmName,
    );

    expect(names.filter((name) => String(name).includes('shop-staging'))).toEqual([]);
    expect(names).toContain('slipway-kitchen-sink-shop-production-availability');
  });

  it('lets the role publish the probes’ metrics in Slipway’s namespace, in the regions of probed environments only', () => {
    const template = memberAccountTemplate(memberInputs('staging', placedKitchenSink())) as Json;

    const [policy] = template.Resources.TargetRole.Properties.Policies;
    const statement = policy.PolicyDocument.Statement.find(
      (candidate: Json) => candidate.Sid === 'PublishProbeMetrics',
    );
    expect(statement).toEqual({
      Sid: 'PublishProbeMetrics',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricData'],
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': 'Slipway', 'aws:RequestedRegion': ['eu-west-1'] } },
    });
  });

  it('holds no alarm and grants no metric where no placed environment is probed', () => {
    // Given account staging's environments without health checks
    const config = placedKitchenSink();
    (config.apps.shop?.environments.staging as { health: unknown[] }).health = [];

    const template = memberAccountTemplate(memberInputs('staging', config)) as Json;

    expect(alarmsOf(template)).toEqual({});
    expect(JSON.stringify(template)).not.toContain('cloudwatch:PutMetricData');
  });
});
