import { readFileSync } from 'node:fs';
import { loadConfigFile } from '../../../lib/config/load';
import { eventRulePatterns } from '../../../lib/events/rule-patterns';
import { eventRulesOf, matchesPattern, targetsOf } from '../../../lib/sandbox/rules';

/**
 * Delivery as EventBridge decides it: an event goes to every function whose rule's pattern matches
 * ("Content filtering in Amazon EventBridge event patterns"). The patterns are the ones serverless.yml's
 * rules get (lib/events/rule-patterns.ts), their CloudFormation values resolved as CloudFormation would.
 */

const sample = (name: string) => JSON.parse(readFileSync(`events/${name}.json`, 'utf8'));
const place = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

describe('matchesPattern', () => {
  it.each([
    ['an exact value among several', { source: ['aws.ecs', 'aws.ecr'] }, { source: 'aws.ecr' }, true],
    ['another value', { source: ['aws.ecs'] }, { source: 'aws.ecr' }, false],
    ['a field the event lacks', { detail: { result: ['SUCCESS'] } }, { detail: {} }, false],
    ['any element of an array in the event', { resources: ['arn:b'] }, { resources: ['arn:a', 'arn:b'] }, true],
    [
      'a prefix',
      { detail: { alarmName: [{ prefix: 'slipway-sandbox-' }] } },
      { detail: { alarmName: 'slipway-sandbox-x' } },
      true,
    ],
    [
      'a prefix that differs',
      { detail: { alarmName: [{ prefix: 'slipway-prod-' }] } },
      { detail: { alarmName: 'slipway-sandbox-x' } },
      false,
    ],
    ['exists: false on a missing field', { detail: { tag: [{ exists: false }] } }, { detail: {} }, true],
    ['exists: false on a present field', { detail: { tag: [{ exists: false }] } }, { detail: { tag: 'x' } }, false],
    ['anything-but', { detail: { state: [{ 'anything-but': ['OK'] }] } }, { detail: { state: 'ALARM' } }, true],
    ['a numeric range', { detail: { n: [{ numeric: ['>', 0, '<=', 5] }] } }, { detail: { n: 5 } }, true],
    ['a number outside it', { detail: { n: [{ numeric: ['>', 0, '<=', 5] }] } }, { detail: { n: 6 } }, false],
  ])('matches %s: %s', (_what, pattern, event, matches) => {
    expect(matchesPattern(pattern, event)).toBe(matches);
  });

  it('refuses an operator it does not know, rather than deliver wrongly', () => {
    expect(() => matchesPattern({ source: [{ cidr: '10.0.0.0/8' }] }, { source: '10.0.0.1' })).toThrow(/cidr/);
  });
});

describe('eventRulesOf', () => {
  // The rules serverless.yml gives the functions for config/sandbox.yml, as serverless/config.cjs computes them.
  const config = loadConfigFile('config/sandbox.yml');
  const serviceArn = (cluster: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:service/${cluster}/backend`,
  });
  const patterns = Object.fromEntries(
    eventRulePatterns({
      config,
      stage: 'sandbox',
      serviceArns: [serviceArn('shop-staging'), serviceArn('shop-production')],
      repositoryNames: ['shop-backend'],
      repositoryArns: [`arn:aws:ecr:us-east-1:123456789012:repository/shop-backend`],
    })
      // ecrImageScan's second event, Amazon Inspector's, which the sandbox has no scanner to send
      .filter(({ rule }) => rule !== 'inspectorScan')
      .map(({ rule, pattern }) => [rule, pattern]),
  );
  const functions = {
    ...Object.fromEntries(
      Object.entries(patterns).map(([rule, pattern]) => [rule, { events: [{ eventBridge: { pattern } }] }]),
    ),
    getHealth: { events: [{ httpApi: { method: 'GET', path: '/health' } }] },
  };
  const rules = eventRulesOf({ service: 'slipway', stage: 'sandbox', functions }, place);

  it('names each rule after its function, its values resolved in the sandbox account and region', () => {
    expect(rules.map((rule) => rule.functionName).sort()).toEqual(
      ['alarmState', 'ecrImageAction', 'ecrImageScan', 'ecsDeploymentState', 'rdsEvent'].map(
        (name) => `slipway-sandbox-${name}`,
      ),
    );
    expect(rules.find((rule) => rule.functionName.endsWith('ecsDeploymentState'))?.pattern.resources).toEqual([
      'arn:aws:ecs:us-east-1:123456789012:service/shop-staging/backend',
      'arn:aws:ecs:us-east-1:123456789012:service/shop-production/backend',
    ]);
  });

  it('sends each kind of event to the one function that handles it', () => {
    const ecs = sample('ecs.deployment-completed');
    ecs.resources = ['arn:aws:ecs:us-east-1:123456789012:service/shop-staging/backend'];
    const alarm = sample('cloudwatch.alarm-state-change');
    alarm.detail.alarmName = 'slipway-sandbox-shop-production-availability';
    const push = sample('ecr.image-push.tagged');
    expect(targetsOf(rules, ecs)).toEqual(['slipway-sandbox-ecsDeploymentState']);
    expect(targetsOf(rules, push)).toEqual(['slipway-sandbox-ecrImageAction']);
    expect(targetsOf(rules, sample('ecr.image-scan.findings'))).toEqual(['slipway-sandbox-ecrImageScan']);
    expect(targetsOf(rules, alarm)).toEqual(['slipway-sandbox-alarmState']);
    expect(targetsOf(rules, sample('rds.snapshot-created'))).toEqual(['slipway-sandbox-rdsEvent']);
  });

  it('sends nothing of what the rules leave out: another service, a failed push, a stage not its own', () => {
    const ecs = sample('ecs.deployment-completed');
    ecs.resources = ['arn:aws:ecs:us-east-1:123456789012:service/other/backend'];
    const alarm = sample('cloudwatch.alarm-state-change');
    alarm.detail.alarmName = 'slipway-prod-shop-production-availability';
    expect(targetsOf(rules, ecs)).toEqual([]);
    expect(targetsOf(rules, sample('ecr.image-push.failure'))).toEqual([]);
    expect(targetsOf(rules, sample('ecr.image-delete'))).toEqual([]);
    expect(targetsOf(rules, alarm)).toEqual([]);
  });

  it('refuses a pattern value it cannot resolve', () => {
    const unresolvable = { f: { events: [{ eventBridge: { pattern: { resources: [{ Ref: 'Something' }] } } }] } };
    expect(() => eventRulesOf({ service: 'slipway', stage: 'sandbox', functions: unresolvable }, place)).toThrow(
      /cannot resolve/,
    );
  });
});
