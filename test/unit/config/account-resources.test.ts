import { createRequire } from 'node:module';
import { configSchema, type SlipwayConfig } from '../../../lib/config/schema';
import { broadlyAssumedAccounts } from '../../../lib/config/vault-role';

const require = createRequire(import.meta.url);
const { accountResources } = require('../../../serverless/config.cjs') as {
  accountResources: (
    config: SlipwayConfig,
    assumed: string[],
  ) => {
    accountRoleArns: unknown[];
    externalIdSecretArns: unknown[];
    memberAccountIds: string[];
    eventBusPolicy: string;
    organizationId: string;
  };
};

/**
 * What packaging gives the assumeAccountRoles and readExternalIds statements (serverless/iam/statements.yml),
 * and the event bus policy (resources/event-bus-policy.yml).
 */

const configWith = (accounts: Record<string, unknown>, organizationId?: string, backups?: Record<string, unknown>) =>
  configSchema.parse({ auth: { tokensSecret: 'slipway/api-tokens' }, accounts, organizationId, backups });

describe('accountResources', () => {
  it('given no accounts, then no role, no secret and no bus policy: packaging leaves them out', () => {
    expect(accountResources(configWith({}), [])).toEqual({
      accountRoleArns: [],
      externalIdSecretArns: [],
      memberAccountIds: [],
      eventBusPolicy: 'withoutAccounts',
      organizationId: '',
    });
  });

  it('given accounts, then exactly their roles, and their external ids by ARN (a name gets the ARN with any suffix)', () => {
    // Given one account with an external id by name, one by ARN, and one with none
    const byArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slipway/production-external-id-AbCdEf';
    const config = configWith({
      staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member', externalIdSecret: 'slipway/staging-id' },
      production: { roleArn: 'arn:aws:iam::333333333333:role/platform/slipway-member', externalIdSecret: byArn },
      sandbox: { roleArn: 'arn:aws:iam::444444444444:role/slipway-member' },
    });

    // Then
    expect(accountResources(config, broadlyAssumedAccounts(config))).toEqual({
      accountRoleArns: [
        'arn:aws:iam::222222222222:role/slipway-member',
        'arn:aws:iam::333333333333:role/platform/slipway-member',
        'arn:aws:iam::444444444444:role/slipway-member',
      ],
      externalIdSecretArns: [
        {
          'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:slipway/staging-id-??????`,
        },
        byArn,
      ],
      memberAccountIds: ['222222222222', '333333333333', '444444444444'],
      eventBusPolicy: 'withAccounts',
      organizationId: '',
    });
  });

  it('given a backup vault in which config places nothing else, then every role but the vault’s, whose functions have their own statement', () => {
    // Given account staging, and the vault, an account of its own with an external id
    const config = configWith(
      {
        staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member', externalIdSecret: 'slipway/staging-id' },
        vault: { roleArn: 'arn:aws:iam::555555555555:role/slipway-vault', externalIdSecret: 'slipway/vault-id' },
      },
      undefined,
      { vaultAccount: 'vault' },
    );

    // Then neither its role nor its external id is among every assuming function's; its events are still taken
    expect(accountResources(config, broadlyAssumedAccounts(config))).toMatchObject({
      accountRoleArns: ['arn:aws:iam::222222222222:role/slipway-member'],
      externalIdSecretArns: [
        {
          'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:slipway/staging-id-??????`,
        },
      ],
      memberAccountIds: ['222222222222', '555555555555'],
    });
  });

  it('given accounts and their organization, then the bus policy that also holds their principals to it', () => {
    const config = configWith(
      { staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member' } },
      'o-a1b2c3d4e5',
    );

    expect(accountResources(config, broadlyAssumedAccounts(config))).toMatchObject({
      memberAccountIds: ['222222222222'],
      eventBusPolicy: 'withAccountsInOrganization',
      organizationId: 'o-a1b2c3d4e5',
    });
  });
});
