import { createRequire } from 'node:module';
import { configSchema, type SlipwayConfig } from '../../../lib/config/schema';

const require = createRequire(import.meta.url);
const { managedResources } = require('../../../serverless/config.cjs') as {
  managedResources: (config: SlipwayConfig) => { taskRoleArns: unknown[] };
};

const TASK = 'arn:aws:iam::123456789012:role/shop-task';
const EXECUTION = 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole';
const ACCOUNT_ROLES = [{ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/*` }];

const configWith = (staging: string[] | undefined, production: string[] | undefined) =>
  configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop',
        containers: ['app'],
        environments: {
          staging: { cluster: 'c', service: 's', ...(staging ? { passRoles: staging } : {}) },
          production: { cluster: 'p', service: 's', ...(production ? { passRoles: production } : {}) },
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
