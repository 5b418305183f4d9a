import { DeploymentLifecycleHookStage } from '@aws-sdk/client-ecs';
import { configSchema, type EnvironmentConfig } from '../../../lib/config/schema';
import { generatedAlarmNames, healthAlarmResources, namedChecks } from '../../../lib/health/alarms';
import { checksAtStage } from '../../../lib/health/lifecycle-hook';

describe('checksAtStage', () => {
  it('probes, at every stage ECS names, the listener that reaches the new revision then, and nothing before one does', () => {
    // Given every lifecycle stage of the ECS API (ECS API Reference, DeploymentLifecycleHook lifecycleStages):
    // green has no traffic before TEST_TRAFFIC_SHIFT, test traffic only until production traffic shifts
    const stages = Object.values(DeploymentLifecycleHookStage).sort();

    // When each is mapped, then the decision is this table, and a stage ECS adds later must be placed in it
    expect(Object.fromEntries(stages.map((stage) => [stage, checksAtStage(stage) ?? 'nothing']))).toEqual({
      RECONCILE_SERVICE: 'nothing',
      PRE_SCALE_UP: 'nothing',
      POST_SCALE_UP: 'nothing',
      TEST_TRAFFIC_SHIFT: 'test',
      POST_TEST_TRAFFIC_SHIFT: 'test',
      PRE_PRODUCTION_TRAFFIC_SHIFT: 'test',
      PRODUCTION_TRAFFIC_SHIFT: 'production',
      POST_PRODUCTION_TRAFFIC_SHIFT: 'production',
    });
    expect(checksAtStage('toString')).toBeUndefined();
  });
});

describe('test checks beside production ones', () => {
  const config = configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: 'shop',
        containers: ['web'],
        environments: {
          production: {
            cluster: 'shop-prod',
            service: 'web',
            health: [
              { url: 'https://shop.example.com:8443/health', stage: 'test' },
              { url: 'https://shop.example.com/health' },
              { name: 'db', url: 'https://shop.example.com/db' },
            ],
          },
          preview: {
            cluster: 'shop-prod',
            service: 'web-preview',
            health: [{ name: 'green', url: 'https://preview.shop.example.com:8443/health', stage: 'test' }],
          },
        },
      },
    },
  });
  const production = config.apps.shop?.environments.production as EnvironmentConfig;
  const preview = config.apps.shop?.environments.preview as EnvironmentConfig;

  it('are named apart: production checks are numbered among production checks only', () => {
    expect(namedChecks(production).map((named) => named.checkName)).toEqual(['check-1', 'db']);
    expect(namedChecks(production, 'test').map((named) => named.checkName)).toEqual(['test-check-1']);
  });

  it('feed no alarm: only production checks are alarmed on, and an environment with test checks alone has no alarms', () => {
    const resources = healthAlarmResources(config, 'prod', 'topic');
    const metrics = resources.HealthAlarmShopProductionAvailability?.Properties?.Metrics as Array<{
      MetricStat?: { Metric: { Dimensions: Array<{ Name: string; Value: string }> } };
    }>;
    const checks = metrics.flatMap(
      (metric) => metric.MetricStat?.Metric.Dimensions.filter((d) => d.Name === 'Check').map((d) => d.Value) ?? [],
    );
    expect(checks).toEqual(['check-1', 'db']);
    expect(Object.keys(resources).filter((id) => id.includes('Preview'))).toEqual([]);
    expect(generatedAlarmNames('prod', 'shop', 'preview', preview)).toEqual([]);
  });
});
