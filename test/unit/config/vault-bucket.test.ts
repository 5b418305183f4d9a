import { parseConfig } from '../../../lib/config/load';
import { ConfigError } from '../../../lib/errors';
import { thrown } from '../../support/thrown';

/** backups.vaultBucket: a bucket in another account for archives and dumps; every refusal names its key path. */

const SOURCE = 'config/prod.yml';
const VAULT_ROLE = 'arn:aws:iam::444444444444:role/slipway-member';

/** A valid file with account vault (regions eu-west-1 and us-east-1) and `backups`, YAML under backups. */
const file = (backups: string, rest = '') =>
  [
    'auth:',
    '  tokensSecret: slipway/api-tokens',
    'accounts:',
    '  vault:',
    `    roleArn: ${VAULT_ROLE}`,
    '    regions: [eu-west-1, us-east-1]',
    'backups:',
    ...backups.split('\n').map((line) => `  ${line}`),
    rest,
  ].join('\n');

const problems = (text: string) => {
  const error = thrown<ConfigError>(() => parseConfig(text, SOURCE));
  expect(error).toBeInstanceOf(ConfigError);
  return error.message.split('\n');
};

const DUMPED = [
  'databases:',
  '  shop-db:',
  '    rdsInstance: shop-prod-db',
  '    dump:',
  '      credentialsSecret: shop/db-credentials',
  '      schedule: rate(1 day)',
  '      retention: { daily: 7, weekly: 4, monthly: 12 }',
  'worker:',
  '  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0',
  '  subnetIds: [subnet-0a1b2c3d4e5f60718]',
  '  securityGroupIds: [sg-0a1b2c3d4e5f60718]',
].join('\n');

describe('backups.vaultBucket', () => {
  it('given a name and an account, when parsed, then the lock and expiry take their defaults', () => {
    // when
    const config = parseConfig(file('vaultBucket: { name: slipway-prod-vault, account: vault }'), SOURCE);

    // then
    expect(config.backups.vaultBucket).toEqual({
      name: 'slipway-prod-vault',
      account: 'vault',
      lockDays: 35,
      expireDays: 400,
    });
  });

  it('given no vaultBucket, when parsed, then there is none: archives go to the backup bucket', () => {
    expect(parseConfig(file('maxCopiesInFlight: 5'), SOURCE).backups.vaultBucket).toBeUndefined();
  });

  it.each([
    [
      'an account config does not name',
      'vaultBucket: { name: slipway-prod-vault, account: archive }',
      'backups.vaultBucket.account: expected one of the accounts config names (vault), received "archive"',
    ],
    [
      'a region the account does not list',
      'vaultBucket: { name: slipway-prod-vault, account: vault, region: ap-south-1 }',
      'backups.vaultBucket.region: expected one of account vault\'s regions (eu-west-1, us-east-1), received "ap-south-1"',
    ],
    [
      'a break-glass role of another account',
      'vaultBucket: { name: slipway-prod-vault, account: vault, breakGlassRoleArn: "arn:aws:iam::123456789012:role/admin" }',
      'backups.vaultBucket.breakGlassRoleArn: expected a role of account vault (444444444444), received one of 123456789012',
    ],
    [
      'an expiry before the lock ends',
      'vaultBucket: { name: slipway-prod-vault, account: vault, lockDays: 90, expireDays: 60 }',
      'backups.vaultBucket.expireDays: expected at least lockDays (90): a locked object cannot expire, received 60',
    ],
    [
      'a bucket name with capitals',
      'vaultBucket: { name: Slipway-Vault, account: vault }',
      'backups.vaultBucket.name: expected an S3 bucket name of 3 to 63 lowercase letters, digits and hyphens, received "Slipway-Vault"',
    ],
  ])('given %s, when parsed, then it is refused at its key path', (_what, backups, message) => {
    expect(problems(file(backups))).toEqual([`${SOURCE}: ${message}`]);
  });

  it('given a dump retention keeping a year of monthly dumps, when the vault expires them sooner, then expireDays is refused naming the retention', () => {
    // given: monthly 12 keeps dumps 12 x 31 days
    const text = file('vaultBucket: { name: slipway-prod-vault, account: vault, expireDays: 200 }', DUMPED);

    // then
    expect(problems(text)).toEqual([
      `${SOURCE}: backups.vaultBucket.expireDays: expected at least 372 days: the retention of the dumps of database shop-db keeps archives that long, and the vault would expire them first, received 200`,
    ]);
    expect(
      parseConfig(file('vaultBucket: { name: slipway-prod-vault, account: vault, expireDays: 372 }', DUMPED), SOURCE)
        .backups.vaultBucket?.expireDays,
    ).toBe(372);
  });
});
