import { readdirSync, readFileSync } from 'node:fs';
import { loadStageConfig } from '../../../lib/config/load';
import { configSchema, type SlipwayConfig } from '../../../lib/config/schema';
import {
  controlPlaneRegions,
  REGION_TEMPLATE_DIR,
  regionForwardingRoleName,
  regionTemplate,
  regionTemplatePath,
  renderRegionTemplate,
} from '../../../lib/events/region-template';
import { generatedAlarmNames, healthAlarmResources } from '../../../lib/health/alarms';
import type { AwsPlace } from '../../template/cloudformation';
import { type AwsRequest, loadArnFormats, type PolicyDocument } from '../../template/iam-requests';
import { refusalOf } from '../../template/iam-simulation';

/**
 * The stacks of the control plane's own account in regions other than its own (lib/events/region-template.ts): the
 * committed ones are what config/kitchen-sink.yml generates; each holds the health alarms of the environments there,
 * named as UpdateService is handed them (ECS looks them up by name in the service's region: ECS API Reference,
 * DeploymentAlarms), and rules forwarding the region's events to the control plane's bus through a role that may put
 * events on that bus alone (EventBridge User Guide, "Sending and receiving events between AWS Regions in Amazon
 * EventBridge"). cfn-lint's findings are test/template/region-template.test.ts's.
 */

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read here by its paths
type Json = Record<string, any>;

const CONTROL_PLANE = { partition: 'aws', account: '123456789012', region: 'us-east-1' };
const inputs = (region: string, config: SlipwayConfig = loadStageConfig('kitchen-sink')) => ({
  config,
  stage: 'kitchen-sink',
  service: 'slipway',
  controlPlaneRegion: 'us-east-1',
  region,
});
const resourcesOf = (template: Json, type: string) =>
  Object.fromEntries(
    Object.entries(template.Resources as Record<string, Json>).filter(([, resource]) => resource.Type === type),
  );

/** A template value as CloudFormation resolves it in `place`: the pseudo parameters and Fn::Sub it uses. */
function resolve(value: unknown, place: AwsPlace): unknown {
  const names: Record<string, string> = {
    'AWS::Partition': place.partition,
    'AWS::AccountId': place.account,
    'AWS::Region': place.region,
  };
  if (Array.isArray(value)) return value.map((item) => resolve(item, place));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]?.[0] === 'Ref') return names[entries[0][1] as string];
  if (entries.length === 1 && entries[0]?.[0] === 'Fn::Sub') {
    return (entries[0][1] as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => names[name] as string);
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, resolve(inner, place)]));
}

beforeAll(async () => {
  await loadArnFormats();
});

describe('resources/control-plane-region/', () => {
  const regions = controlPlaneRegions(loadStageConfig('kitchen-sink'), 'us-east-1');

  it('is made for each region config/kitchen-sink.yml places something of the control plane’s account in', () => {
    // web/europe in eu-central-1; reports-db copied to eu-west-1, shop-db to us-west-2
    expect(regions).toEqual(['eu-central-1', 'eu-west-1', 'us-west-2']);
  });

  it.each(regions)('holds what config/kitchen-sink.yml generates for %s', (region) => {
    // Given what the generator makes of the region today
    const expected = renderRegionTemplate(inputs(region));

    // When the committed file is read
    const path = regionTemplatePath('kitchen-sink', region);
    const committed = readFileSync(path, 'utf8');

    // Then it is the same, byte for byte
    if (committed !== expected) {
      throw new Error(
        `${path} is stale: config/kitchen-sink.yml or the generator changed since it was written. Run \`npm run region-template -- --stage kitchen-sink --region us-east-1\` and commit the result.`,
      );
    }
  });

  it('holds no file for a region config places nothing in', () => {
    const files = readdirSync(REGION_TEMPLATE_DIR).filter((file) => file.startsWith('kitchen-sink-'));
    expect(files.sort()).toEqual(regions.map((region) => `kitchen-sink-${region}.yml`));
  });
});

describe('controlPlaneRegions', () => {
  const base = {
    auth: { tokensSecret: 'slipway/api-tokens' },
    accounts: { staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member' } },
  };

  it('names the regions of environments, databases, their copies and repositories of the account, not its own', () => {
    // Given an environment in ap-south-1, one in the control plane's region named, one of a member account, a
    // database copied to eu-north-1, a repository of the account in sa-east-1 and one of the member's in ca-central-1
    const config = configSchema.parse({
      ...base,
      apps: {
        shop: {
          repository: '111111111111.dkr.ecr.sa-east-1.amazonaws.com/shop',
          containers: ['app'],
          environments: {
            mumbai: { cluster: 'c', service: 's', region: 'ap-south-1' },
            virginia: { cluster: 'c', service: 's', region: 'us-east-1' },
            member: { cluster: 'c', service: 's', account: 'staging', region: 'eu-west-3' },
          },
        },
        api: {
          repository: '222222222222.dkr.ecr.ca-central-1.amazonaws.com/api',
          containers: ['app'],
          environments: { production: { cluster: 'c', service: 's' } },
        },
      },
      databases: { db: { rdsInstance: 'db', schedule: 'rate(1 day)', copyToRegion: 'eu-north-1' } },
    });

    // Then the regions are those of the account's own, the control plane's left out
    expect(controlPlaneRegions(config, 'us-east-1')).toEqual(['ap-south-1', 'eu-north-1', 'sa-east-1']);
  });

  it('refuses a template for a region config places nothing in, naming the ones it does', () => {
    expect(() => regionTemplate(inputs('ap-south-1'))).toThrow(
      "config places nothing of the control plane's account in ap-south-1 (its regions other than us-east-1: eu-central-1, eu-west-1, us-west-2)",
    );
  });
});

describe('the stack of eu-central-1 (web/europe)', () => {
  const template = regionTemplate(inputs('eu-central-1')) as Json;
  const europe = loadStageConfig('kitchen-sink').apps.web?.environments.europe;

  it('holds its health alarms, only in eu-central-1, named as UpdateService is handed them', () => {
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');

    expect(Object.values(alarms).map((alarm) => alarm.Properties.AlarmName)).toEqual(
      generatedAlarmNames('kitchen-sink', 'web', 'europe', europe as never),
    );
    expect(Object.values(alarms).map((alarm) => alarm.Condition)).toEqual(['InEuCentral1', 'InEuCentral1']);
    expect(template.Conditions).toEqual({ InEuCentral1: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-central-1'] } });
  });

  it('and the control plane’s own stack no longer does', () => {
    const names = Object.values(
      healthAlarmResources(loadStageConfig('kitchen-sink'), 'kitchen-sink', 'topic', 'us-east-1'),
    ).map((alarm) => alarm.Properties.AlarmName);

    expect(names.filter((name) => String(name).includes('web-europe'))).toEqual([]);
    expect(names).toContain('slipway-kitchen-sink-shop-production-availability');
  });

  it('forwards its ECS deployment and alarm events to the control plane’s bus in us-east-1, undelivered ones queued', () => {
    const rules = resourcesOf(template, 'AWS::Events::Rule');

    expect(Object.keys(rules).sort()).toEqual([
      'AlarmStateForwardingEuCentral1',
      'EcsDeploymentStateForwardingEuCentral1',
    ]);
    for (const rule of Object.values(rules)) {
      expect(rule.Properties.Targets).toEqual([
        {
          Id: 'control-plane',
          Arn: { 'Fn::Sub': `arn:\${AWS::Partition}:events:us-east-1:\${AWS::AccountId}:event-bus/default` },
          RoleArn: { 'Fn::GetAtt': ['EventForwardingRole', 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['EventForwardingDeadLetterQueueEuCentral1', 'Arn'] } },
        },
      ]);
    }
    expect(rules.EcsDeploymentStateForwardingEuCentral1?.Properties.EventPattern.resources).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:eu-central-1:\${AWS::AccountId}:service/web-europe/web` },
    ]);
    expect(rules.AlarmStateForwardingEuCentral1?.Properties.EventPattern.detail.alarmName).toEqual([
      { prefix: 'slipway-kitchen-sink-' },
      'web-europe-5xx',
    ]);
  });

  it('has no parameter and no role for the control plane to assume: its functions act there as themselves', () => {
    expect(template.Parameters).toBeUndefined();
    expect(Object.keys(resourcesOf(template, 'AWS::IAM::Role'))).toEqual(['EventForwardingRole']);
  });
});

describe('the stacks of eu-west-1 and us-west-2 (database copies)', () => {
  it.each([
    ['eu-west-1', 'slipway-reports-db-'],
    ['us-west-2', 'slipway-shop-db-'],
  ])('forward %s’s RDS events of Slipway’s copies there, and hold no alarm', (region, prefix) => {
    const template = regionTemplate(inputs(region)) as Json;
    const rules = Object.values(resourcesOf(template, 'AWS::Events::Rule'));

    expect(rules.map((rule) => rule.Properties.EventPattern.source)).toEqual([['aws.rds']]);
    expect(JSON.stringify(rules[0]?.Properties.EventPattern.detail)).toContain(prefix);
    expect(resourcesOf(template, 'AWS::CloudWatch::Alarm')).toEqual({});
  });
});

describe('the forwarding role', () => {
  const template = regionTemplate(inputs('eu-central-1')) as Json;
  const place: AwsPlace = { ...CONTROL_PLANE, region: 'eu-central-1' };
  const role = () => {
    const properties = resolve(template.Resources.EventForwardingRole.Properties, place) as Json;
    return {
      arn: `arn:aws:iam::${place.account}:role/${properties.RoleName}`,
      policies: (properties.Policies as Array<{ PolicyName: string; PolicyDocument: PolicyDocument }>).map(
        ({ PolicyName, PolicyDocument }) => ({ name: PolicyName, document: PolicyDocument }),
      ),
    };
  };
  const putEvents = (bus: string, what: string): AwsRequest => ({
    action: 'events:PutEvents',
    resource: bus,
    what,
    context: {},
  });
  const denied = (why: string | undefined) => why !== undefined && /^(Implicitly|Explicitly)Denied/.test(why);

  it('is named after the region, as IAM’s names are the account’s, and trusted by EventBridge for this account alone', () => {
    const properties = template.Resources.EventForwardingRole.Properties;

    expect(properties.RoleName).toBe('slipway-kitchen-sink-event-forwarding-eu-central-1');
    expect(properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    expect(() => regionForwardingRoleName('slipway', 'a-stage-name-long-enough-to-pass', 'ap-southeast-1')).toThrow(
      "over IAM's 64 characters",
    );
  });

  it('may put events on the control plane’s default bus, and on no other bus, region or account', async () => {
    // Given the control plane's bus in us-east-1 of the account
    const bus = `arn:aws:events:us-east-1:${CONTROL_PLANE.account}:event-bus/default`;

    // Then IAM allows PutEvents there
    expect(await refusalOf(putEvents(bus, 'the control plane’s bus'), role(), place)).toBeUndefined();
    // And refuses it on another bus, the region's own default bus, and another account's
    for (const other of [
      `arn:aws:events:us-east-1:${CONTROL_PLANE.account}:event-bus/another`,
      `arn:aws:events:eu-central-1:${CONTROL_PLANE.account}:event-bus/default`,
      'arn:aws:events:us-east-1:999999999999:event-bus/default',
    ]) {
      expect({ other, denied: denied(await refusalOf(putEvents(other, other), role(), place)) }).toEqual({
        other,
        denied: true,
      });
    }
    // And grants nothing else
    const actions = role().policies.flatMap(({ document }) =>
      (document.Statement as Array<{ Action: string | string[] }>).flatMap((statement) => statement.Action),
    );
    expect(actions).toEqual(['events:PutEvents']);
  });
});
