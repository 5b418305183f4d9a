import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadStageConfig } from '../../../lib/config/load';
import {
  assumingFunctions,
  functionRoleName,
  MEMBER_TEMPLATE_DIR,
  memberAccountTemplate,
  memberTemplatePath,
  renderMemberAccountTemplate,
  vaultFunctions,
} from '../../../lib/events/member-account-template';
import { MEMBER, memberInputs, placedKitchenSink } from '../../support/member-accounts';

/**
 * The member-account templates: the committed ones are what config/kitchen-sink.yml's accounts generate
 * (as config/schema.json is what the schema generates), and what the generator makes of environments placed
 * in an account. IAM's decisions and cfn-lint's are test/template/member-account.test.ts's.
 */

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read here by its paths
type Json = Record<string, any>;

const inputs = memberInputs;
// orders-db, in account staging's eu-west-1 and copied to its us-east-1 (lib/events/member-account/databases.ts).
const RDS_EVENTS = [
  'RDS DB Snapshot Event',
  'RDS DB Cluster Snapshot Event',
  'RDS DB Instance Event',
  'RDS DB Cluster Event',
];

describe('resources/member-account/', () => {
  it.each(Object.keys(loadStageConfig('kitchen-sink').accounts))(
    'holds what config/kitchen-sink.yml generates for account %s',
    (account) => {
      // Given what the generator makes of the account today
      const expected = renderMemberAccountTemplate(inputs(account));

      // When the committed file is read
      const path = memberTemplatePath('kitchen-sink', account);
      const committed = readFileSync(path, 'utf8');

      // Then it is the same, byte for byte
      if (committed !== expected) {
        throw new Error(
          `${path} is stale: config/kitchen-sink.yml or the generator changed since it was written. Run \`npm run member-template -- --account ${account} --stage kitchen-sink --region us-east-1\` and commit the result.`,
        );
      }
    },
  );

  it('holds no file for an account config does not name', () => {
    const accounts = Object.keys(loadStageConfig('kitchen-sink').accounts);
    const files = readdirSync(MEMBER_TEMPLATE_DIR).sort();
    expect(files).toEqual(accounts.map((account) => `kitchen-sink-${account}.yml`).sort());
  });
});

describe('the roles allowed to assume an account role', () => {
  it('are those of the functions serverless gives the assumeAccountRoles statement', () => {
    expect(assumingFunctions()).toEqual([
      'ecsDeploymentState',
      'ecrImageAction',
      'ecrImageScan',
      'alarmState',
      'rdsEvent',
      'createDeployment',
      'approveDeployment',
      'slackInteractions',
      'getEnvironment',
      'rollbackEnvironment',
      'promoteEnvironment',
      'restartEnvironment',
      'scaleEnvironment',
      'registryWebhook',
      'listBackups',
      'takeBackup',
      'createRestore',
      'reconcileDeployments',
      'releaseDue',
      'runProbes',
      'backupDatabase',
      'restoreDrill',
      'reconcileBackups',
    ]);
  });

  it('are, for the backup vault’s, those of the functions serverless gives the assumeVaultRole statement', () => {
    // The two whose code reaches the vault (lib/wiring/vault.ts), as the IAM proof's call graph finds
    expect(vaultFunctions()).toEqual(['createRestore', 'reconcileBackups']);
  });

  it('are named as serverless-iam-roles-per-function names them, without -lambdaRole past 64 characters', () => {
    expect(functionRoleName('slipway', 'prod', 'createDeployment', 'us-east-1')).toBe(
      'slipway-prod-createDeployment-us-east-1-lambdaRole',
    );
    // 21 + 19 + 1 + 14 + 11 = 66 characters with -lambdaRole
    expect(functionRoleName('slipway', 'kitchen-sink', 'rollbackEnvironment', 'ap-southeast-2')).toBe(
      'slipway-kitchen-sink-rollbackEnvironment-ap-southeast-2',
    );
    expect(() =>
      functionRoleName('slipway', 'a-very-long-stage-name-indeed', 'rollbackEnvironment', 'ap-southeast-2'),
    ).toThrow(/over IAM's 64 characters/);
  });
});

describe('the trust of the backup vault’s role', () => {
  const principals = (template: Json): unknown[] =>
    template.Resources.TargetRole.Properties.AssumeRolePolicyDocument.Statement.map(
      (statement: Json) => statement.Condition.ArnEquals['aws:PrincipalArn'],
    );
  const roleOf = (fn: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:iam::\${ControlPlaneAccountId}:role/${functionRoleName('slipway', 'kitchen-sink', fn, 'us-east-1')}`,
  });

  it('names exactly the roles of the functions reaching the vault, where config places nothing else there', () => {
    // Given the kitchen sink's vault account, which holds no environment, database or repository
    const template = memberAccountTemplate(inputs('vault')) as Json;

    // Then its role admits, to assume it and to tag the session, reconcileBackups' and createRestore's roles alone
    expect(principals(template)).toEqual([
      [roleOf('createRestore'), roleOf('reconcileBackups')],
      [roleOf('createRestore'), roleOf('reconcileBackups')],
    ]);
  });

  it('names every assuming function’s role where config also places an environment in the vault account', () => {
    // Given an environment of the kitchen sink placed in the vault account: a member account too
    const config = loadStageConfig('kitchen-sink');
    Object.assign(config.apps.shop?.environments.staging as object, { account: 'vault', region: 'us-east-1' });

    const template = memberAccountTemplate(inputs('vault', config)) as Json;

    // Then the deploying roles are trusted as by any member account, the vault's two among them
    const [assume] = principals(template);
    expect(assume).toEqual(assumingFunctions().map(roleOf));
    expect(assume).toEqual(expect.arrayContaining(vaultFunctions().map(roleOf)));
  });
});

describe('the template of an account', () => {
  it('trusts the deploying roles of the control plane, named by ARN, with the external id as a NoEcho parameter', () => {
    // Given account staging, whose role requires an external id
    const template = memberAccountTemplate(inputs('staging')) as Json;

    // Then the id is a parameter CloudFormation never shows, and the file holds no value of it
    expect(template.Parameters.ExternalId).toMatchObject({ Type: 'String', NoEcho: true });
    expect(template.Parameters.ExternalId.Default).toBeUndefined();
    // And the role, named and placed as roleArn says, admits the deploying roles only with it
    const role = template.Resources.TargetRole.Properties;
    expect(role).toMatchObject({ RoleName: 'slipway-member', Path: '/' });
    const [assume, tag] = role.AssumeRolePolicyDocument.Statement;
    expect(assume.Action).toBe('sts:AssumeRole');
    expect(assume.Condition.StringEquals).toEqual({ 'sts:ExternalId': { Ref: 'ExternalId' } });
    expect(assume.Condition.ArnEquals['aws:PrincipalArn']).toEqual(
      assumingFunctions().map((fn) => ({
        'Fn::Sub': `arn:\${AWS::Partition}:iam::\${ControlPlaneAccountId}:role/slipway-kitchen-sink-${fn}-us-east-1-lambdaRole`,
      })),
    );
    expect(tag.Action).toEqual(['sts:TagSession', 'sts:SetSourceIdentity']);
  });

  it('asks for no external id where config names none, and keeps the role path roleArn names', () => {
    // Given a config whose production account names no external id
    const config = loadStageConfig('kitchen-sink');
    delete (config.accounts.production as { externalIdSecret?: string }).externalIdSecret;

    const template = memberAccountTemplate(inputs('production', config)) as Json;

    expect(template.Parameters.ExternalId).toBeUndefined();
    const role = template.Resources.TargetRole.Properties;
    expect(role).toMatchObject({ RoleName: 'slipway-member', Path: '/platform/' });
    expect(role.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals).toBeUndefined();
  });

  it('grants nothing but vault restores and forwards nothing where config places no environment nor database in the account', () => {
    // Given the kitchen sink without its app api, the only one it places in account production
    const config = loadStageConfig('kitchen-sink');
    delete config.apps.api;

    const template = memberAccountTemplate(inputs('production', config)) as Json;

    // Then it holds the role alone, allowed only to restore the backup vault's copies into it
    expect(Object.keys(template.Resources)).toEqual(['TargetRole']);
    expect(template.Resources.TargetRole.Properties.Policies.map((policy: Json) => policy.PolicyName)).toEqual([
      'SlipwayVaultRestores',
    ]);
    // And nothing at all without a vault
    config.backups.vaultAccount = undefined;
    const withoutVault = memberAccountTemplate(inputs('production', config)) as Json;
    expect(withoutVault.Resources.TargetRole.Properties.Policies).toBeUndefined();
  });

  it('grants the deploy calls on the placed environments’ resources, in their regions, and names no other account', () => {
    // Given environments placed in account staging, in eu-west-1 and us-east-1
    const template = memberAccountTemplate(inputs('staging', placedKitchenSink())) as Json;

    // Then the role's statements name only resources of this account (by AWS::AccountId) or its roles, and the
    // vault's role only as the grantee of its databases' keys
    const [policy] = template.Resources.TargetRole.Properties.Policies;
    const vaultRole = placedKitchenSink().accounts.vault?.roleArn as string;
    const text = JSON.stringify(policy).replaceAll(`"kms:GranteePrincipal":"${vaultRole}"`, '');
    expect(text.match(/\d{12}/g)?.every((id) => id === MEMBER.staging)).toBe(true);
    expect(text).not.toContain(MEMBER.production);
    const byId = Object.fromEntries(
      policy.PolicyDocument.Statement.map((statement: Json) => [statement.Sid, statement]),
    );
    expect(byId.DescribeAndUpdateServices.Resource).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:eu-west-1:\${AWS::AccountId}:service/shop-staging/backend` },
      { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:us-east-1:\${AWS::AccountId}:service/shop-prod/web` },
      { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:eu-west-1:\${AWS::AccountId}:service/api-staging/api` },
    ]);
    expect(byId.ReadAndPruneTaskDefinitions.Condition).toEqual({
      StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] },
    });
  });

  it('forwards each region’s events from that region, to the control plane’s bus, with a dead-letter queue', () => {
    const template = memberAccountTemplate(inputs('staging', placedKitchenSink())) as Json;

    // Then each rule is made only in its region, targets the bus parameter with the forwarding role, and its queue
    const rules = Object.entries(template.Resources as Record<string, Json>).filter(
      ([, resource]) => resource.Type === 'AWS::Events::Rule',
    );
    expect(rules.map(([id, rule]) => [id, rule.Condition, rule.Properties.EventPattern['detail-type']])).toEqual([
      ['EcsDeploymentStateForwardingEuWest1', 'InEuWest1', ['ECS Deployment State Change']],
      ['EcrImageActionForwardingEuWest1', 'InEuWest1', ['ECR Image Action']],
      ['EcrImageScanForwardingEuWest1', 'InEuWest1', ['ECR Image Scan']],
      ['InspectorScanForwardingEuWest1', 'InEuWest1', ['Inspector2 Scan']],
      ['AlarmStateForwardingEuWest1', 'InEuWest1', ['CloudWatch Alarm State Change']],
      ['RdsEventForwardingEuWest1', 'InEuWest1', RDS_EVENTS],
      ['EcsDeploymentStateForwardingUsEast1', 'InUsEast1', ['ECS Deployment State Change']],
      ['AlarmStateForwardingUsEast1', 'InUsEast1', ['CloudWatch Alarm State Change']],
      ['RdsEventForwardingUsEast1', 'InUsEast1', RDS_EVENTS],
    ]);
    for (const [id, rule] of rules) {
      const suffix = id.endsWith('EuWest1') ? 'EuWest1' : 'UsEast1';
      expect(rule.Properties.Targets).toEqual([
        {
          Id: 'control-plane',
          Arn: { Ref: 'ControlPlaneEventBusArn' },
          RoleArn: {
            'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/slipway-kitchen-sink-event-forwarding`,
          },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [`EventForwardingDeadLetterQueue${suffix}`, 'Arn'] } },
        },
      ]);
    }
    // And Amazon Inspector's scans are forwarded for the account's repository in its region, named by ARN, as the
    // control plane's own rule hears them (ecrImageScan's second event)
    expect(template.Resources.InspectorScanForwardingEuWest1.Properties.EventPattern).toEqual({
      source: ['aws.inspector2'],
      'detail-type': ['Inspector2 Scan'],
      detail: {
        'repository-name': [
          { 'Fn::Sub': `arn:\${AWS::Partition}:ecr:eu-west-1:\${AWS::AccountId}:repository/shop-backend` },
        ],
      },
    });
    // And the alarms forwarded are Slipway's, by its stage prefix, and those config names for the region's environments
    expect(template.Resources.AlarmStateForwardingEuWest1.Properties.EventPattern.detail).toEqual({
      alarmName: [{ prefix: 'slipway-kitchen-sink-' }, 'shop-staging-5xx', 'api-staging-5xx'],
    });
    // And the roles are made once, in the first region
    expect(template.Conditions.InHomeRegion).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] });
    expect(template.Resources.TargetRole.Condition).toBe('InHomeRegion');
    expect(template.Resources.EventForwardingRole.Condition).toBe('InHomeRegion');
  });

  it('gives each account of the kitchen sink what its own placed environment needs, and nothing of the other’s', () => {
    // Given config/kitchen-sink.yml as committed: api's staging in account staging's eu-west-1, its production
    // in account production's us-east-1, both deploying from a repository of the control plane's account
    const staging = memberAccountTemplate(inputs('staging')) as Json;
    const production = memberAccountTemplate(inputs('production')) as Json;

    // Then each role may update its own account's service only, in its own region
    const services = (template: Json) =>
      template.Resources.TargetRole.Properties.Policies[0].PolicyDocument.Statement.find(
        (statement: Json) => statement.Sid === 'DescribeAndUpdateServices',
      ).Resource;
    expect(services(staging)).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:eu-west-1:\${AWS::AccountId}:service/api-staging/api` },
    ]);
    expect(services(production)).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:us-east-1:\${AWS::AccountId}:service/api-prod/api` },
    ]);
    // And each forwards its deployments' and alarms' events from its environment's region, and no push or scan:
    // the repository is the control plane's
    const rules = (template: Json) =>
      Object.entries(template.Resources as Record<string, Json>)
        .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
        .map(([id]) => id);
    expect(rules(staging)).toEqual([
      'EcsDeploymentStateForwardingEuWest1',
      'AlarmStateForwardingEuWest1',
      // And the RDS events of its database orders-db, and of its copies in us-east-1
      'RdsEventForwardingEuWest1',
      'RdsEventForwardingUsEast1',
    ]);
    expect(rules(production)).toEqual(['EcsDeploymentStateForwardingUsEast1', 'AlarmStateForwardingUsEast1']);
  });

  it('refuses an account config does not name, naming those it does', () => {
    expect(() => memberAccountTemplate(inputs('sandbox'))).toThrow(
      'account sandbox is not one config names under accounts (staging, production, vault)',
    );
  });

  it('renders YAML CloudFormation reads back as the same template, with no alias', () => {
    const text = renderMemberAccountTemplate(inputs('staging', placedKitchenSink()));

    expect(parse(text)).toEqual(memberAccountTemplate(inputs('staging', placedKitchenSink())));
    expect(text).not.toMatch(/[&*]a\d/);
  });
});
