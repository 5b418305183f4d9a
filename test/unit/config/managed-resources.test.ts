import { createRequire } from 'node:module';
import { restoreTargetPrefix } from '../../../lib/backup/identifiers';
import { configSchema, type SlipwayConfig } from '../../../lib/config/schema';

const require = createRequire(import.meta.url);
const { managedResources, rdsResources } = require('../../../serverless/config.cjs') as {
  rdsResources: (
    config: SlipwayConfig,
    prefix: typeof restoreTargetPrefix,
  ) => { restoreKmsKeyArns: unknown[]; rdsRestoreTargetArns: unknown[]; rdsRestoreSourceArns: unknown[] };
  managedResources: (config: SlipwayConfig) => {
    serviceArns: unknown[];
    clusterArns: unknown[];
    taskArns: unknown[];
    taskDefinitionArns: unknown[];
    taskRoleArns: unknown[];
    lifecycleHookRoleArns: unknown[];
    watchedDeploymentArns: unknown[];
  };
};

const TASK = 'arn:aws:iam::123456789012:role/shop-task';
const EXECUTION = 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole';
const ACCOUNT_ROLES = [{ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/*` }];

const HOOK = 'arn:aws:iam::123456789012:role/shop-lifecycle-hook';

const configWith = (
  staging: string[] | undefined,
  production: string[] | undefined,
  hooks: { staging?: string[]; production?: string[] } = {},
) =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop',
        containers: ['app'],
        environments: {
          staging: {
            cluster: 'c',
            service: 's',
            ...(staging ? { passRoles: staging } : {}),
            ...(hooks.staging ? { lifecycleHookRoles: hooks.staging } : {}),
          },
          production: {
            cluster: 'p',
            service: 's',
            ...(production ? { passRoles: production } : {}),
            ...(hooks.production ? { lifecycleHookRoles: hooks.production } : {}),
          },
        },
      },
    },
  });

describe('the roles iam:PassRole names (serverless/config.cjs)', () => {
  it('given passRoles in every environment, when resolved, then exactly those roles, once each', () => {
    expect(managedResources(configWith([TASK, EXECUTION], [EXECUTION])).taskRoleArns).toEqual([TASK, EXECUTION]);
  });

  it('given an environment without passRoles, when resolved, then any role of the account: its roles are unknown', () => {
    expect(managedResources(configWith([TASK], undefined)).taskRoleArns).toEqual(ACCOUNT_ROLES);
  });

  it('given an empty passRoles, when parsed, then it is refused: it would let no deployment through', () => {
    expect(() => configWith([], undefined)).toThrow(/at least one IAM role ARN/);
  });
});

describe('the lifecycle hook roles iam:PassRole names towards ECS (serverless/config.cjs)', () => {
  it('given lifecycleHookRoles in some environments, when resolved, then exactly those roles, once each', () => {
    const config = configWith(undefined, undefined, { staging: [HOOK], production: [HOOK] });
    expect(managedResources(config).lifecycleHookRoleArns).toEqual([HOOK]);
  });

  it('given no environment with lifecycleHookRoles, when resolved, then none: the statement is left out', () => {
    expect(managedResources(configWith(undefined, undefined)).lifecycleHookRoleArns).toEqual([]);
  });
});

describe('what DescribeServiceDeployments may read (serverless/config.cjs)', () => {
  it('given two services, when resolved, then each service and its service deployments, both of which ECS authorises', () => {
    const sub = (resource: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:${resource}`,
    });
    expect(managedResources(configWith(undefined, undefined)).watchedDeploymentArns).toEqual([
      sub('service/c/s'),
      sub('service-deployment/c/s/*'),
      sub('service/p/s'),
      sub('service-deployment/p/s/*'),
    ]);
  });
});

describe('the keys restores may create grants on (serverless/config.cjs)', () => {
  const KEY = 'arn:aws:kms:us-east-1:123456789012:key/3c4d5e6f-7a8b-49c0-8d1e-2f3a4b5c6d7e';
  const withDatabases = (databases: Record<string, Record<string, unknown>>) =>
    configSchema.parse({ auth: { tokensSecret: 'slipway/api-tokens' }, databases });

  it('given kmsKeyArn on two databases, when resolved, then that key, once', () => {
    const config = withDatabases({
      shop: { rdsInstance: 'shop-db', kmsKeyArn: KEY },
      reports: { rdsCluster: 'reports', kmsKeyArn: KEY },
    });
    expect(rdsResources(config, restoreTargetPrefix).restoreKmsKeyArns).toEqual([KEY]);
  });

  it('given an instance and an Aurora cluster, when resolved, then restores may create only <source>-restore-* and drills', () => {
    const config = withDatabases({ shop: { rdsInstance: 'Shop-DB' }, reports: { rdsCluster: 'reports' } });
    const sub = (resource: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:${resource}`,
    });
    expect(rdsResources(config, restoreTargetPrefix).rdsRestoreTargetArns).toEqual([
      sub('db:shop-db-restore-*'),
      sub('cluster:reports-restore-*'),
      sub('db:reports-restore-*'),
      sub('db:slipway-drill-*'),
      sub('cluster:slipway-drill-*'),
    ]);
    // And restore only from those sources, or the snapshots Slipway takes of them
    expect(rdsResources(config, restoreTargetPrefix).rdsRestoreSourceArns).toEqual([
      sub('db:Shop-DB'),
      sub('cluster:reports'),
      sub('snapshot:slipway-shop-*'),
      sub('cluster-snapshot:slipway-reports-*'),
    ]);
  });

  it('given no database with kmsKeyArn, when resolved, then none: the statement is left out', () => {
    expect(
      rdsResources(withDatabases({ shop: { rdsInstance: 'shop-db' } }), restoreTargetPrefix).restoreKmsKeyArns,
    ).toEqual([]);
  });
});

describe('where the deploy functions may act on ECS (serverless/config.cjs)', () => {
  const placed = (staging: Record<string, unknown>) =>
    configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      accounts: { member: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member' } },
      apps: {
        shop: {
          repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop',
          containers: ['app'],
          environments: {
            staging: { cluster: 'c', service: 's', passRoles: [TASK], ...staging },
            production: { cluster: 'p', service: 's', passRoles: [EXECUTION] },
          },
        },
      },
    });
  const sub = (resource: string, region = `\${AWS::Region}`) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:ecs:${region}:\${AWS::AccountId}:${resource}`,
  });

  it('given an environment in another region of the control plane’s account, when resolved, then its service is named in that region', () => {
    const resources = managedResources(placed({ region: 'eu-west-1' }));
    expect(resources.serviceArns).toEqual([sub('service/c/s', 'eu-west-1'), sub('service/p/s')]);
    expect(resources.clusterArns).toEqual([sub('cluster/c', 'eu-west-1'), sub('cluster/p')]);
    expect(resources.taskArns).toEqual([sub('task/c/*', 'eu-west-1'), sub('task/p/*')]);
    // And its revisions are registered and tagged there (ecs:TagResource with RegisterTaskDefinition)
    expect(resources.taskDefinitionArns).toEqual([sub('task-definition/*'), sub('task-definition/*', 'eu-west-1')]);
  });

  it('given an environment in another account, when resolved, then the functions’ roles get nothing on it nor pass its roles', () => {
    // Its calls are made as a session on the account's role (lib/wiring/accounts.ts), which that account authorises.
    const resources = managedResources(placed({ account: 'member', region: 'eu-west-1' }));
    expect(resources.serviceArns).toEqual([sub('service/p/s')]);
    expect(resources.watchedDeploymentArns).toEqual([sub('service/p/s'), sub('service-deployment/p/s/*')]);
    expect(resources.taskRoleArns).toEqual([EXECUTION]);
  });
});
