import { configSchema } from '../../../lib/config/schema';
import {
  EVENT_PATTERN_MAX_CHARS,
  eventPatternProblems,
  eventPatternSize,
  eventRulePatterns,
} from '../../../lib/events/rule-patterns';

const configWith = (alarms: Record<string, string[]>) =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop',
        containers: ['app'],
        environments: Object.fromEntries(
          Object.entries(alarms).map(([env, names]) => [env, { cluster: env, service: 'web', alarms: names }]),
        ),
      },
    },
  });

const patternsFor = (alarms: Record<string, string[]>, serviceArns: unknown[] = ['arn:aws:ecs:x:1:service/c/s']) =>
  eventRulePatterns({
    config: configWith(alarms),
    stage: 'prod',
    serviceArns,
    repositoryNames: ['shop'],
    repositoryArns: ['arn:aws:ecr:us-east-1:123456789012:repository/shop'],
  });

describe('eventPatternSize', () => {
  it('measures a Fn::Sub with the longest partition, region and account CloudFormation can substitute', () => {
    const pattern = {
      resources: [{ 'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/c/s` }],
    };

    expect(eventPatternSize(pattern)).toBe(
      JSON.stringify({ resources: ['arn:aws-us-gov:ecs:us-isof-south-1:123456789012:service/c/s'] }).length,
    );
  });

  it.each([
    [{ resources: [{ Ref: 'SomeResource' }] }],
    [{ resources: [{ 'Fn::GetAtt': ['Queue', 'Arn'] }] }],
    [{ resources: [{ 'Fn::Sub': `arn:\${SomeResource.Arn}` }] }],
  ])('refuses to guess the size of %j', (pattern) => {
    expect(() => eventPatternSize(pattern)).toThrow(/whose length is unknown/);
  });
});

describe('eventRulePatterns', () => {
  it("matches Slipway's alarms by the stage prefix and lists the alarms config names once, unless the prefix covers them", () => {
    const alarmRule = patternsFor({
      staging: ['shop-5xx', 'slipway-prod-custom'],
      production: ['shop-5xx', 'shop-latency'],
    }).find(({ rule }) => rule === 'alarmState');

    expect(alarmRule).toMatchObject({
      pattern: { detail: { alarmName: [{ prefix: 'slipway-prod-' }, 'shop-5xx', 'shop-latency'] } },
      listed: { count: 2 },
    });
  });

  it('lists the service ARNs, repository names and repository ARNs it is given', () => {
    const patterns = Object.fromEntries(patternsFor({ production: [] }).map(({ rule, pattern }) => [rule, pattern]));

    expect(patterns).toMatchObject({
      ecsDeploymentState: { resources: ['arn:aws:ecs:x:1:service/c/s'] },
      ecrImageAction: { detail: { 'repository-name': ['shop'], 'action-type': ['PUSH'], result: ['SUCCESS'] } },
      ecrImageScan: { detail: { 'repository-name': ['shop'] } },
      inspectorScan: {
        source: ['aws.inspector2'],
        'detail-type': ['Inspector2 Scan'],
        detail: { 'repository-name': ['arn:aws:ecr:us-east-1:123456789012:repository/shop'] },
      },
    });
  });
});

describe('eventPatternProblems', () => {
  /** The ECS rule's pattern padded with one service ARN to exactly `size` characters. */
  const ecsPatternOf = (size: number) => {
    const base = eventPatternSize(patternsFor({ production: [] }, [''])[0]?.pattern);
    return patternsFor({ production: [] }, ['x'.repeat(size - base)]);
  };

  it('accepts a pattern of exactly 2,048 characters', () => {
    const patterns = ecsPatternOf(EVENT_PATTERN_MAX_CHARS);

    expect(eventPatternSize(patterns[0]?.pattern)).toBe(EVENT_PATTERN_MAX_CHARS);
    expect(eventPatternProblems(patterns)).toEqual([]);
  });

  it('refuses one character more, naming the rule, its size, what it lists and the config keys that feed it', () => {
    expect(eventPatternProblems(ecsPatternOf(EVENT_PATTERN_MAX_CHARS + 1))).toEqual([
      {
        feeds: 'apps.<app>.environments.<env>.cluster and .service',
        message:
          "the event pattern of the ecsDeploymentState rule would be 2049 characters, over EventBridge's 2048 (event pattern size quota): it lists 1 service ARNs; split them across stages",
      },
    ]);
  });

  it('refuses an alarm rule that lists too many alarms of your own', () => {
    const names = Array.from({ length: 100 }, (_, index) => `shop-alarm-number-${index}`);

    expect(eventPatternProblems(patternsFor({ production: names })).map(({ feeds }) => feeds)).toEqual([
      'apps.<app>.environments.<env>.alarms',
    ]);
  });
});
