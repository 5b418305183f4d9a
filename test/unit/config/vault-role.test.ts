import { broadlyAssumedAccounts, vaultIsMemberAccount } from '../../../lib/config/vault-role';

/**
 * Whether the backup vault's account is a member account too: then every assuming function may need its role
 * (serverless/config.cjs, the member template's trust); else only the functions reaching the vault.
 */

const VAULT = '555555555555';
const base = () => ({
  accounts: {
    staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member' },
    vault: { roleArn: `arn:aws:iam::${VAULT}:role/slipway-vault` },
  },
  backups: { vaultAccount: 'vault' } as { vaultAccount?: string },
  apps: {
    shop: {
      repository: '222222222222.dkr.ecr.us-east-1.amazonaws.com/shop',
      environments: { staging: { account: 'staging' } as { account?: string } },
    },
  },
  databases: { 'shop-db': {} as { account?: string } },
});

describe('vaultIsMemberAccount and broadlyAssumedAccounts', () => {
  it('given a vault in which config places nothing, then it is no member account, and its role is left out', () => {
    const config = base();
    expect(vaultIsMemberAccount(config)).toBe(false);
    expect(broadlyAssumedAccounts(config)).toEqual(['staging']);
  });

  it.each([
    ['an environment', (config: ReturnType<typeof base>) => (config.apps.shop.environments.staging.account = 'vault')],
    ['a database', (config: ReturnType<typeof base>) => (config.databases['shop-db'].account = 'vault')],
    [
      'an ECR repository',
      (config: ReturnType<typeof base>) =>
        (config.apps.shop.repository = `${VAULT}.dkr.ecr.eu-west-1.amazonaws.com/shop`),
    ],
  ])('given %s placed in the vault account, then it is a member account too, and its role is kept', (_what, place) => {
    const config = base();
    place(config);
    expect(vaultIsMemberAccount(config)).toBe(true);
    expect(broadlyAssumedAccounts(config)).toEqual(['staging', 'vault']);
  });

  it('given no vault, then every account', () => {
    const config = base();
    config.backups = {};
    expect(vaultIsMemberAccount(config)).toBe(false);
    expect(broadlyAssumedAccounts(config)).toEqual(['staging', 'vault']);
  });
});
