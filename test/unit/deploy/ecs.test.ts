import type { DeploymentConfiguration, Service } from '@aws-sdk/client-ecs';
import { createEcrClient } from '../../../lib/aws/clients/ecr';
import { createEcsClient } from '../../../lib/aws/clients/ecs';
import {
  AWS_NOT_REACHABLE,
  deploymentConfiguration,
  describeService,
  resolveImage,
  unlistedHookRoles,
} from '../../../lib/deploy/ecs';

const HOOK_ROLE = 'arn:aws:iam::123456789012:role/shop-ecs-lifecycle-hook';

/** A blue/green service's settings as DescribeServices returns them (ECS API Reference, DeploymentConfiguration). */
const blueGreen: DeploymentConfiguration = {
  deploymentCircuitBreaker: {
    enable: true,
    rollback: false,
    resetOnHealthyTask: false,
    thresholdConfiguration: { type: 'COUNT', value: 5 },
  },
  maximumPercent: 200,
  minimumHealthyPercent: 100,
  alarms: { alarmNames: ['shop-5xx', 'shop-production-availability'], enable: false, rollback: false },
  strategy: 'BLUE_GREEN',
  bakeTimeInMinutes: 15,
  lifecycleHooks: [
    {
      hookTargetArn: 'arn:aws:lambda:us-east-1:123456789012:function:slipway-prod-ecsLifecycleHook',
      roleArn: HOOK_ROLE,
      lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT', 'POST_PRODUCTION_TRAFFIC_SHIFT'],
    },
  ],
};

const service = (configuration?: DeploymentConfiguration): Service => ({
  serviceName: 'backend',
  ...(configuration ? { deploymentConfiguration: configuration } : {}),
});

describe('deploymentConfiguration', () => {
  it("keeps every setting of the service's own, merging its breaker and alarms with Slipway's", () => {
    // Given a blue/green service with its own breaker threshold, alarms and lifecycle hooks
    // When Slipway builds the settings UpdateService gets, with the environment's alarms
    const sent = deploymentConfiguration(service(blueGreen), [
      'shop-production-availability',
      'slipway-prod-shop-production-latency',
    ]);

    // Then UpdateService, which replaces what it is given, gets the service's settings back, with
    // the breaker and the alarms rolling back and the alarm names of both, each once
    expect(sent).toEqual({
      ...blueGreen,
      deploymentCircuitBreaker: {
        enable: true,
        rollback: true,
        resetOnHealthyTask: false,
        thresholdConfiguration: { type: 'COUNT', value: 5 },
      },
      alarms: {
        alarmNames: ['shop-5xx', 'shop-production-availability', 'slipway-prod-shop-production-latency'],
        enable: true,
        rollback: true,
      },
    });
  });

  it("leaves the service's alarms as they are when the environment has none", () => {
    const sent = deploymentConfiguration(service(blueGreen), []);
    expect(sent.alarms).toEqual(blueGreen.alarms);
    expect(sent.deploymentCircuitBreaker).toEqual({ ...blueGreen.deploymentCircuitBreaker, rollback: true });
  });

  it('turns the breaker and the alarms on for a service that has no settings of its own', () => {
    expect(deploymentConfiguration(service(), ['slipway-prod-shop-staging-availability'])).toEqual({
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: ['slipway-prod-shop-staging-availability'], enable: true, rollback: true },
    });
  });
});

describe('unlistedHookRoles', () => {
  const OTHER_ROLE = 'arn:aws:iam::123456789012:role/shop-approval-hook';
  const hook = (roleArn?: string) => ({
    lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT' as const],
    ...(roleArn ? { hookTargetArn: 'arn:aws:lambda:us-east-1:123456789012:function:hook', roleArn } : {}),
  });

  it.each<[string, DeploymentConfiguration | undefined, string[] | undefined, string[]]>([
    ['a rolling update service, no hooks', undefined, undefined, []],
    ["the hook's role listed", blueGreen, [HOOK_ROLE], []],
    ['no lifecycleHookRoles: every hook role is unlisted', blueGreen, undefined, [HOOK_ROLE]],
    ['another role listed', blueGreen, [OTHER_ROLE], [HOOK_ROLE]],
    ['a PAUSE hook, which names no role', { lifecycleHooks: [hook()] }, undefined, []],
    [
      'two hooks, one role unlisted in both, named once',
      { lifecycleHooks: [hook(OTHER_ROLE), hook(HOOK_ROLE), hook(OTHER_ROLE)] },
      [HOOK_ROLE],
      [OTHER_ROLE],
    ],
  ])('given %s, it answers the roles Slipway may not pass', (_, configuration, listed, expected) => {
    expect(unlistedHookRoles(configuration, listed)).toEqual(expected);
  });
});

describe('ECS and ECR on a machine with neither credentials nor an endpoint', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    // Given no credentials anywhere the SDK's default chain looks, and no endpoint
    for (const key of Object.keys(process.env)) {
      if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|ENDPOINT_URL|CONTAINER_|WEB_IDENTITY)/.test(key))
        delete process.env[key];
    }
    Object.assign(process.env, {
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/slipway-credentials',
      AWS_CONFIG_FILE: '/nonexistent/slipway-config',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  });
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('answers 503 saying what to set, when resolving a tag and reading the service', async () => {
    // When a tag is resolved and the service read with the factory's clients
    const tag = () =>
      resolveImage(
        (region) => createEcrClient({ AWS_REGION: region }),
        '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend',
        { tag: 'develop-42' },
      );
    const service = () => describeService(createEcsClient({ AWS_REGION: 'us-east-1' }), 'shop-staging', 'backend');

    // Then both fail before reaching AWS, with the same 503 and its advice
    for (const call of [tag, service]) {
      const failure = await call().catch((error: unknown) => error);
      expect(failure).toMatchObject({ status: 503, expose: true, message: AWS_NOT_REACHABLE });
      expect(failure).toHaveProperty('cause.name', 'CredentialsProviderError');
    }
  });
});
