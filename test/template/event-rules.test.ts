import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EVENT_PATTERN_MAX_CHARS, eventPatternSize } from '../../lib/events/rule-patterns';
import { printService } from '../../lib/local/serverless-cli';
import {
  type CloudFormationTemplate,
  PACKAGED_STAGES,
  type PackagedStage,
  packagedStage,
  packageStage,
  readTemplate,
} from '../support/package';

/**
 * What AWS refuses at deploy time, checked at package time on both packaged stages (prod and kitchen-sink):
 * - every AWS::Events::Rule's EventPattern, as CloudFormation passes it on (compact JSON, each Fn::Sub at its
 *   longest in any partition and region), fits EventBridge's event pattern size: 2,048 characters (Amazon
 *   EventBridge User Guide, "Amazon EventBridge quotas");
 * - every AWS::CloudWatch::Alarm has DatapointsToAlarm ≤ EvaluationPeriods: PutMetricAlarm (CloudWatch API
 *   Reference) takes them as "M out of N".
 * The alarm rule matches Slipway's own alarm names by their stage prefix, so a stage with many apps,
 * databases and volumes still fits; what config lists that is not Slipway's (services, repositories, alarms
 * of your own) stops packaging with the rule, its size and the config keys that feed it.
 */

type Template = CloudFormationTemplate & { Resources: Record<string, { Properties?: Record<string, unknown> }> };

const templates = new Map<PackagedStage, Template>();
const owned: string[] = [];

beforeAll(async () => {
  for (const stage of PACKAGED_STAGES) {
    const { dir, owned: mine } = await packagedStage(stage);
    if (mine) owned.push(dir);
    templates.set(stage, readTemplate(dir) as Template);
  }
});

afterAll(() => {
  for (const dir of owned) rmSync(dir, { recursive: true, force: true });
});

const resourcesOf = (stage: PackagedStage, type: string) =>
  Object.entries(templates.get(stage)?.Resources ?? {}).filter(([, resource]) => resource.Type === type);

describe.each(PACKAGED_STAGES)('the packaged template of stage %s', (stage) => {
  it('gives every EventBridge rule an event pattern EventBridge accepts in size', () => {
    // Given every rule with an event pattern
    const rules = resourcesOf(stage, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties?.EventPattern);
    expect(rules.length).toBeGreaterThanOrEqual(5);

    // When each is measured as CloudFormation sends it
    const oversized = rules
      .map(([id, rule]) => ({ id, size: eventPatternSize(rule.Properties?.EventPattern) }))
      .filter(({ size }) => size > EVENT_PATTERN_MAX_CHARS);

    // Then none is over the quota
    expect(oversized).toEqual([]);
  });

  it('hears the ECS deployments of every environment config names, those forwarded from member accounts included', () => {
    // Given the services config names, each in its account: a member account's by its id (config/kitchen-sink.yml's
    // api: staging in 222222222222's eu-west-1, production in 333333333333)
    const rule = resourcesOf(stage, 'AWS::Events::Rule')
      .map(([, resource]) => resource.Properties?.EventPattern as { source?: string[]; resources?: unknown[] })
      .find((pattern) => pattern?.source?.includes('aws.ecs'));
    const arns = JSON.stringify(rule?.resources);

    // Then the rule lists each, so that a forwarded event, which keeps its own account in the service ARN, matches
    if (stage === 'kitchen-sink') {
      expect(arns).toContain('ecs:eu-west-1:222222222222:service/api-staging/api');
      expect(arns).toContain(`ecs:\${AWS::Region}:333333333333:service/api-prod/api`);
    }
    expect(arns).toContain(`:\${AWS::AccountId}:service/shop-prod/backend`);
  });

  it("hears Slipway's own alarms by their stage prefix, listing only alarms config names", () => {
    const patterns = resourcesOf(stage, 'AWS::Events::Rule').map(([, rule]) => rule.Properties?.EventPattern);
    const alarmRule = patterns.find((pattern) => JSON.stringify(pattern ?? {}).includes('aws.cloudwatch')) as {
      detail: { alarmName: unknown[] };
    };

    expect(alarmRule.detail.alarmName[0]).toEqual({ prefix: `slipway-${stage}-` });
    expect(alarmRule.detail.alarmName.slice(1).every((name) => typeof name === 'string')).toBe(true);
  });

  it('gives every CloudWatch alarm at most as many datapoints to alarm as evaluation periods', () => {
    const alarms = resourcesOf(stage, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);

    const broken = alarms.flatMap(([id, alarm]) => {
      const { EvaluationPeriods: periods, DatapointsToAlarm: datapoints } = alarm.Properties ?? {};
      const ok =
        Number.isInteger(periods) &&
        (periods as number) >= 1 &&
        (datapoints === undefined || (Number.isInteger(datapoints) && (datapoints as number) <= (periods as number)));
      return ok ? [] : [{ id, periods, datapoints }];
    });

    expect(broken).toEqual([]);
  });
});

/** A config of `apps` apps with two environments each, health checks and an alarm of their own, and `databases` drilled databases. */
function configWith(apps: number, databases: number): string {
  const environment = (app: number, name: string) => ({
    cluster: `cluster-${name}`,
    service: `app-${app}`,
    health: [{ url: `https://app-${app}.${name}.example.com/health` }],
    alarms: [`app-${app}-${name}-5xx`],
  });
  return stringify({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: Object.fromEntries(
      Array.from({ length: apps }, (_, app) => [
        `app-${app}`,
        {
          repository: `123456789012.dkr.ecr.us-east-1.amazonaws.com/app-${app}`,
          containers: ['web'],
          environments: { staging: environment(app, 'staging'), production: environment(app, 'production') },
        },
      ]),
    ),
    databases: Object.fromEntries(
      Array.from({ length: databases }, (_, db) => [
        `db-${db}`,
        { rdsInstance: `db-${db}`, restoreDrill: { schedule: 'cron(0 6 ? * SUN *)' } },
      ]),
    ),
  });
}

const written: string[] = [];
afterAll(() => {
  for (const file of written) rmSync(file, { force: true });
});

/** config/<stage>.yml for one test, removed once this file's tests are done, with what resolving it writes. */
function writeStageConfig(stage: string, text: string): void {
  const file = join('config', `${stage}.yml`);
  written.push(file, join('config', `${stage}.resolved.json`));
  writeFileSync(file, text);
}

describe('a stage with many apps, databases and alarms', () => {
  const stage = 'template-test-many-apps';

  it("keeps every rule's pattern within the quota: 100 alarms of Slipway's cost one prefix", async () => {
    // Given 10 apps of two environments with health checks (40 health alarms) and 20 drilled databases
    // (60 backup alarms): listed one by one, the alarm rule's pattern would be over 4,000 characters
    writeStageConfig(stage, configWith(10, 20));

    // When serverless.yml is resolved for it
    const service = await printService(stage, {});

    // Then every eventBridge pattern fits, and the alarm rule names Slipway's alarms by their prefix alone
    const patterns = Object.entries(service.functions).flatMap(([name, fn]) =>
      (fn.events ?? []).flatMap((event) => {
        const pattern = (event.eventBridge as { pattern?: unknown } | undefined)?.pattern;
        return pattern ? [{ name, size: eventPatternSize(pattern), pattern }] : [];
      }),
    );
    expect(patterns.filter(({ size }) => size > EVENT_PATTERN_MAX_CHARS)).toEqual([]);
    expect(patterns.find(({ name }) => name === 'alarmState')?.pattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: {
        alarmName: [
          { prefix: `slipway-${stage}-` },
          ...Array.from({ length: 10 }, (_, app) => [`app-${app}-staging-5xx`, `app-${app}-production-5xx`]).flat(),
        ],
      },
    });
  });
});

describe('a stage with more services than the ECS rule can list', () => {
  const stage = 'template-test-many-services';

  it('stops packaging, naming the rule, its size and the config keys that feed it', async () => {
    // Given 20 apps of two environments: 40 ECS services, each listed by ARN
    writeStageConfig(stage, configWith(20, 0));

    // When it is packaged / Then packaging stops before anything is built
    await expect(packageStage(stage)).rejects.toThrow(
      new RegExp(
        `config/${stage}\\.yml: apps\\.<app>\\.environments\\.<env>\\.cluster and \\.service: the event pattern of the ecsDeploymentState rule would be \\d{4} characters, over EventBridge's 2048 \\(event pattern size quota\\): it lists 40 service ARNs`,
      ),
    );
  });
});
