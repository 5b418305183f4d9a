import { configSchema } from '../../../lib/config/schema';
import { TEST_PLACE, templateValues } from '../../template/cloudformation';
import {
  type AwsRequest,
  type CallerFacts,
  callerWithoutStack,
  loadArnFormats,
  requestsOf,
  resourceTypeGaps,
} from '../../template/iam-requests';
import { refusalOf } from '../../template/iam-simulation';

/** The request model and the simulation the IAM proof (test/template/iam-actions.test.ts) rests on. */

const SERVICE = 'arn:aws:ecs:us-east-1:123456789012:service/shop-prod/backend';
const DEPLOYMENTS = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/shop-prod/backend/*';
const HOOK_ROLE = 'arn:aws:iam::123456789012:role/shop-lifecycle-hook';
const KEY = 'arn:aws:kms:us-east-1:123456789012:key/3c4d5e6f-7a8b-49c0-8d1e-2f3a4b5c6d7e';

function factsFor(extra: { lifecycleHookRoles?: string[]; kmsKeyArn?: string } = {}): CallerFacts {
  const config = configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop',
        containers: ['backend'],
        environments: {
          production: {
            cluster: 'shop-prod',
            service: 'backend',
            ...(extra.lifecycleHookRoles ? { lifecycleHookRoles: extra.lifecycleHookRoles } : {}),
          },
        },
      },
    },
    databases: {
      'shop-db': { rdsInstance: 'shop-prod-db', ...(extra.kmsKeyArn ? { kmsKeyArn: extra.kmsKeyArn } : {}) },
    },
  });
  return callerWithoutStack({
    place: TEST_PLACE,
    stage: 'prod',
    service: 'slipway',
    config,
    env: { STATE_TABLE: 'slipway-prod-state' },
  });
}

const role = (...statements: unknown[]) => ({
  arn: 'arn:aws:iam::123456789012:role/slipway-prod-test',
  policies: [{ name: 'test', document: { Version: '2012-10-17', Statement: statements } }],
});
const allow = (action: string, resource: unknown, condition?: unknown) => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
  ...(condition ? { Condition: condition } : {}),
});
const request = (action: string, resource: string, context: AwsRequest['context'] = {}): AwsRequest => ({
  action,
  resource,
  context,
  what: 'under test',
});

beforeAll(async () => {
  await loadArnFormats();
});

describe('templateValues: a packaged template resolved in one account and region', () => {
  const template = {
    Conditions: { WorkerEnabled: { 'Fn::Equals': ['true', 'false'] } },
    Resources: {
      StateTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'slipway-prod-state' } },
      NotificationsTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'slipway-prod-notifications' } },
      DeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'slipway-prod-dead-letters' } },
      WorkerTaskRole: { Type: 'AWS::IAM::Role', Properties: {} },
    },
  };
  const values = templateValues(template, TEST_PLACE, 'slipway-prod');

  it('given Fn::Sub, Fn::Join and Fn::GetAtt, when resolved, then the ARNs CloudFormation gives', () => {
    expect(values.text({ 'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:cluster/c` })).toBe(
      'arn:aws:ecs:us-east-1:123456789012:cluster/c',
    );
    expect(
      values.text({ 'Fn::Join': ['/', [{ 'Fn::GetAtt': ['StateTable', 'Arn'] }, 'index', 'byEnvironment']] }),
    ).toBe('arn:aws:dynamodb:us-east-1:123456789012:table/slipway-prod-state/index/byEnvironment');
    expect(values.text({ 'Fn::Sub': `\${StateTable.Arn}` })).toBe(
      'arn:aws:dynamodb:us-east-1:123456789012:table/slipway-prod-state',
    );
  });

  it('given Ref of a topic and of a queue, when resolved, then the topic ARN and the queue URL', () => {
    expect(values.text({ Ref: 'NotificationsTopic' })).toBe(
      'arn:aws:sns:us-east-1:123456789012:slipway-prod-notifications',
    );
    expect(values.text({ Ref: 'DeadLetterQueue' })).toBe(
      'https://sqs.us-east-1.amazonaws.com/123456789012/slipway-prod-dead-letters',
    );
  });

  it('given Fn::If on a false condition with AWS::NoValue in a list, when resolved, then the entry is gone', () => {
    expect(
      values.resolve([
        'a',
        { 'Fn::If': ['WorkerEnabled', { 'Fn::GetAtt': ['WorkerTaskRole', 'Arn'] }, { Ref: 'AWS::NoValue' }] },
      ]),
    ).toEqual(['a']);
  });

  it('given a role without RoleName, when its ARN is resolved, then a name CloudFormation would generate', () => {
    expect(values.text({ 'Fn::GetAtt': ['WorkerTaskRole', 'Arn'] })).toMatch(
      /^arn:aws:iam::123456789012:role\/slipway-prod-WorkerTaskRole-[0-9A-F]{13}$/,
    );
  });

  it('given an intrinsic function it does not model, when resolved, then it throws rather than guess', () => {
    expect(() => values.resolve({ 'Fn::ImportValue': 'x' })).toThrow(/no intrinsic function Fn::ImportValue/);
  });
});

describe('the requests a call makes', () => {
  it('given a recorded service deployment, when DescribeServiceDeployments is modelled, then the service and the deployment are both named', () => {
    const requests = requestsOf(factsFor(), {
      action: 'ecs:DescribeServiceDeployments',
      file: 'lib/deploy/settlement.ts',
    });
    expect(requests.map((item) => item.resource)).toEqual([
      SERVICE,
      expect.stringMatching(/:service-deployment\/shop-prod\/backend\/\w+$/),
    ]);
  });

  it('given lifecycleHookRoles, when UpdateService is modelled, then each role is passed to ecs.amazonaws.com', () => {
    const requests = requestsOf(factsFor({ lifecycleHookRoles: [HOOK_ROLE] }), {
      action: 'ecs:UpdateService',
      file: 'lib/deploy/rollout.ts',
    });
    expect(requests.filter((item) => item.action === 'iam:PassRole')).toEqual([
      expect.objectContaining({ resource: HOOK_ROLE, context: { 'iam:PassedToService': 'ecs.amazonaws.com' } }),
    ]);
    const without = requestsOf(factsFor(), { action: 'ecs:UpdateService', file: 'lib/deploy/rollout.ts' });
    expect(without.filter((item) => item.action === 'iam:PassRole')).toEqual([]);
  });

  it('given a source encrypted with a customer managed key, when a restore is modelled, then RDS uses the key as the caller', () => {
    const requests = requestsOf(factsFor({ kmsKeyArn: KEY }), {
      action: 'rds:RestoreDBInstanceFromDBSnapshot',
      file: 'lib/restore/restores.ts',
    });
    const keyUse = requests.filter((item) => item.action.startsWith('kms:'));
    // Two targets (a drill and an API restore), each creating a grant on the key and describing it.
    expect(keyUse.map((item) => [item.action, item.resource, item.context])).toEqual(
      [1, 2].flatMap(() => [
        ['kms:CreateGrant', KEY, { 'kms:ViaService': 'rds.us-east-1.amazonaws.com' }],
        ['kms:DescribeKey', KEY, { 'kms:ViaService': 'rds.us-east-1.amazonaws.com' }],
      ]),
    );
  });

  it('given a query in the release store, when modelled, then the partition of the method it is written in', () => {
    const [due] = requestsOf(factsFor(), { action: 'dynamodb:Query', file: 'lib/store/releases.ts', method: 'due' });
    expect(due).toMatchObject({
      resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/slipway-prod-state/index/byEnvironment',
      context: { 'dynamodb:LeadingKeys': ['PENDING_RELEASES'] },
      qualifier: 'PENDING_RELEASES',
    });
    const forDigest = requestsOf(factsFor(), {
      action: 'dynamodb:Query',
      file: 'lib/store/releases.ts',
      method: 'forDigest',
    });
    expect(forDigest.map((item) => [item.resource, item.qualifier])).toEqual([
      ['arn:aws:dynamodb:us-east-1:123456789012:table/slipway-prod-state', 'RELEASE#'],
    ]);
  });

  it('given a point-in-time restore, when modelled, then it names the source and a target within <source>-restore-', () => {
    const requests = requestsOf(factsFor(), {
      action: 'rds:RestoreDBInstanceToPointInTime',
      file: 'lib/restore/restores.ts',
    });
    const instances = requests.filter((item) => item.resource.includes(':db:')).map((item) => item.resource);
    expect([...new Set(instances)]).toEqual([
      'arn:aws:rds:us-east-1:123456789012:db:slipway-drill-shop-db-202601050300',
      'arn:aws:rds:us-east-1:123456789012:db:shop-prod-db',
      'arn:aws:rds:us-east-1:123456789012:db:shop-prod-db-restore-copy',
    ]);
  });

  it('given a store no partition model covers, when modelled, then it throws, naming the file', () => {
    expect(() => requestsOf(factsFor(), { action: 'dynamodb:PutItem', file: 'lib/store/x.ts' })).toThrow(
      /lib\/store\/x.ts reaches the state table: say which partitions/,
    );
  });

  it('given a call site no model covers, when modelled, then it throws, naming the action', () => {
    expect(() => requestsOf(factsFor(), { action: 'ecs:DeleteService', file: 'lib/x.ts' })).toThrow(
      /no request model for ecs:DeleteService/,
    );
  });
});

describe('resourceTypeGaps: the Service Authorization Reference against the requests of one call', () => {
  it('given DescribeServiceDeployments naming only the deployment, then the service it also requires is missing', async () => {
    const gaps = await resourceTypeGaps([
      request(
        'ecs:DescribeServiceDeployments',
        'arn:aws:ecs:us-east-1:123456789012:service-deployment/shop-prod/backend/x',
      ),
    ]);
    expect(gaps).toEqual(['ecs:DescribeServiceDeployments requires a service, which no request names']);
  });

  it('given an ARN of a type the action does not take, then it is named, and the type it requires is missing', async () => {
    expect(await resourceTypeGaps([request('sns:Publish', 'arn:aws:sqs:us-east-1:123456789012:q')])).toEqual([
      'sns:Publish names arn:aws:sqs:us-east-1:123456789012:q, of no resource type the action takes',
      'sns:Publish requires a topic, which no request names',
    ]);
  });
});

describe('refusalOf: how IAM decides a request against a role', () => {
  it('given a grant on the service deployments only, when the service is asked for, then IAM refuses it', async () => {
    const granted = role(allow('ecs:DescribeServiceDeployments', [DEPLOYMENTS]));
    expect(await refusalOf(request('ecs:DescribeServiceDeployments', SERVICE), granted, TEST_PLACE)).toBe(
      'ImplicitlyDenied',
    );
    const both = role(allow('ecs:DescribeServiceDeployments', [SERVICE, DEPLOYMENTS]));
    expect(await refusalOf(request('ecs:DescribeServiceDeployments', SERVICE), both, TEST_PLACE)).toBeUndefined();
  });

  it('given a request naming no resource, when only a narrower resource is granted, then IAM refuses it', async () => {
    const cluster = { 'ecs:cluster': 'arn:aws:ecs:us-east-1:123456789012:cluster/shop-prod' };
    const narrow = role(allow('ecs:ListTasks', 'arn:aws:ecs:us-east-1:123456789012:container-instance/shop-prod/*'));
    expect(await refusalOf(request('ecs:ListTasks', '*', cluster), narrow, TEST_PLACE)).toBe(
      'ImplicitlyDenied: the call names no resource, and only narrower resources than "*" are granted',
    );
    const everything = role(allow('ecs:ListTasks', '*', { ArnEquals: cluster }));
    expect(await refusalOf(request('ecs:ListTasks', '*', cluster), everything, TEST_PLACE)).toBeUndefined();
  });

  it('given iam:PassRole with the wrong iam:PassedToService, when asked, then IAM refuses it', async () => {
    const granted = role(
      allow('iam:PassRole', HOOK_ROLE, { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }),
    );
    const passed = request('iam:PassRole', HOOK_ROLE, { 'iam:PassedToService': 'ecs.amazonaws.com' });
    expect(await refusalOf(passed, granted, TEST_PLACE)).toBe('ImplicitlyDenied');
  });

  it('given PutItem granted on the AUDIT# partitions, when another partition is asked for, then IAM refuses it', async () => {
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/slipway-prod-state';
    const granted = role(
      allow('dynamodb:PutItem', table, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AUDIT#*'] } }),
    );
    const put = (key: string) => request('dynamodb:PutItem', table, { 'dynamodb:LeadingKeys': [key] });
    expect(await refusalOf(put('AUDIT#2026-01-05'), granted, TEST_PLACE)).toBeUndefined();
    expect(await refusalOf(put('RELEASE#shop@sha256:00'), granted, TEST_PLACE)).toBe('ImplicitlyDenied');
    expect(await refusalOf(put('XAUDIT#2026-01-05'), granted, TEST_PLACE)).toBe('ImplicitlyDenied');
  });

  it('given a condition key the action does not take, when asked, then the request itself is refused as a mistake', async () => {
    const granted = role(allow('ecs:UpdateService', SERVICE));
    const wrong = request('ecs:UpdateService', SERVICE, { 'iam:PassedToService': 'ecs.amazonaws.com' });
    expect(await refusalOf(wrong, granted, TEST_PLACE)).toBe(
      'carries condition keys ecs:UpdateService does not take: iam:PassedToService',
    );
  });
});
