import { parseConfig } from '../../../lib/config/load';
import { ConfigError } from '../../../lib/errors';
import { thrown } from '../../support/thrown';

/** backups.vaultAccount and backups.vaultKmsKey: each refusal names its key path and the reason. */

const SOURCE = 'config/prod.yml';
const VAULT_ROLE = 'arn:aws:iam::444444444444:role/slipway-vault';
const VAULT_KEY = 'arn:aws:kms:us-east-1:444444444444:key/7c6b5a49-3827-4165-9f8e-7d6c5b4a3928';
const SOURCE_KEY = 'arn:aws:kms:us-east-1:111111111111:key/1f2e3d4c-5b6a-4789-8123-456789abcdef';

const VAULT_KEY_EU = 'arn:aws:kms:eu-west-1:444444444444:key/3a9e8d7c-6b5a-4f49-8382-7160f5e4d3c2';
const SOURCE_KEY_EU = 'arn:aws:kms:eu-west-1:111111111111:key/2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901';

const file = (backups: string[], database: string[] = [], vault: string[] = []) =>
  [
    'auth:',
    '  tokensSecret: slipway/api-tokens',
    'accounts:',
    '  vault:',
    `    roleArn: ${VAULT_ROLE}`,
    ...vault.map((line) => `    ${line}`),
    'backups:',
    ...backups.map((line) => `  ${line}`),
    'databases:',
    '  shop-db:',
    '    rdsInstance: shop-prod-db',
    ...database.map((line) => `    ${line}`),
    '',
  ].join('\n');

const problems = (text: string) => {
  const error = thrown<ConfigError>(() => parseConfig(text, SOURCE));
  expect(error).toBeInstanceOf(ConfigError);
  return error.message.split('\n');
};

describe('the backup vault config', () => {
  it('given a vault account and its key, with an encrypted database, when parsed, then both are kept', () => {
    // When
    const config = parseConfig(
      file(['vaultAccount: vault', `vaultKmsKey: ${VAULT_KEY}`], [`kmsKeyArn: ${SOURCE_KEY}`]),
      SOURCE,
    );

    // Then
    expect([config.backups.vaultAccount, config.backups.vaultKmsKey]).toEqual(['vault', VAULT_KEY]);
  });

  it('given a vault key per region, with an encrypted database in each, when parsed, then the list is kept', () => {
    // When
    const config = parseConfig(
      file(
        ['vaultAccount: vault', `vaultKmsKey: [${VAULT_KEY}, ${VAULT_KEY_EU}]`],
        ['region: eu-west-1', `kmsKeyArn: ${SOURCE_KEY_EU}`],
        ['regions: [us-east-1, eu-west-1]'],
      ),
      SOURCE,
    );

    // Then
    expect(config.backups.vaultKmsKey).toEqual([VAULT_KEY, VAULT_KEY_EU]);
  });

  it('given a vault account and unencrypted databases only, when parsed, then no key is needed', () => {
    expect(parseConfig(file(['vaultAccount: vault']), SOURCE).backups.vaultKmsKey).toBeUndefined();
  });

  it.each([
    [
      'an account config does not name',
      file(['vaultAccount: archive']),
      'backups.vaultAccount: expected one of the accounts config names (vault), received "archive"',
    ],
    [
      'a key of another account than the vault',
      file(['vaultAccount: vault', `vaultKmsKey: ${SOURCE_KEY}`]),
      "backups.vaultKmsKey: is a key of account 111111111111, not of the vault account vault (444444444444): the vault's copies are encrypted with a key the source account cannot use or schedule for deletion",
    ],
    [
      'no key while a database is encrypted',
      file(['vaultAccount: vault'], [`kmsKeyArn: ${SOURCE_KEY}`]),
      'backups.vaultKmsKey: is required with vaultAccount: database shop-db is encrypted, and the vault copies a shared encrypted snapshot only with a key of its own',
    ],
    [
      'a key of another account in the list',
      file(['vaultAccount: vault', `vaultKmsKey: [${VAULT_KEY}, ${SOURCE_KEY_EU}]`]),
      "backups.vaultKmsKey[1]: is a key of account 111111111111, not of the vault account vault (444444444444): the vault's copies are encrypted with a key the source account cannot use or schedule for deletion",
    ],
    [
      'two keys in one region',
      file(['vaultAccount: vault', `vaultKmsKey: [${VAULT_KEY}, ${VAULT_KEY.replace('7c6b5a49', '8d7c6b5a')}]`]),
      'backups.vaultKmsKey[1]: is a second vault key in us-east-1: list at most one key per region, the key the copies made there are encrypted with',
    ],
    [
      'an encrypted database in a region where the vault has no key',
      file(['vaultAccount: vault', `vaultKmsKey: ${VAULT_KEY}`], ['region: eu-west-1', `kmsKeyArn: ${SOURCE_KEY_EU}`]),
      'backups.vaultKmsKey: has no key in eu-west-1, where the snapshots of encrypted database shop-db are copied into the vault: add a key of the vault account in eu-west-1',
    ],
    [
      "an encrypted database without a region, whose region (its key's) has no vault key",
      file(['vaultAccount: vault', `vaultKmsKey: ${VAULT_KEY_EU}`], [`kmsKeyArn: ${SOURCE_KEY}`]),
      'backups.vaultKmsKey: has no key in us-east-1, where the snapshots of encrypted database shop-db are copied into the vault: add a key of the vault account in us-east-1',
    ],
    [
      'an encrypted database in a region the vault account does not list',
      file(
        ['vaultAccount: vault', `vaultKmsKey: [${VAULT_KEY}, ${VAULT_KEY_EU}]`],
        ['region: eu-west-1', `kmsKeyArn: ${SOURCE_KEY_EU}`],
        ['regions: [us-east-1]'],
      ),
      'accounts.vault.regions: expected to include eu-west-1, where the snapshots of encrypted database shop-db are copied into the vault, received ["us-east-1"]',
    ],
    [
      'an empty key list',
      file(['vaultAccount: vault', 'vaultKmsKey: []']),
      'backups.vaultKmsKey: expected at least one key, received []',
    ],
    [
      'a key without a vault',
      file([`vaultKmsKey: ${VAULT_KEY}`]),
      'backups.vaultKmsKey: applies only with backups.vaultAccount, which is absent',
    ],
    [
      'an alias as the key',
      file(['vaultAccount: vault', 'vaultKmsKey: arn:aws:kms:us-east-1:444444444444:alias/vault']),
      'backups.vaultKmsKey: expected a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<key id> (not an alias: Slipway grants the use of a key by its ARN, and IAM does not match a key by an alias), received "arn:aws:kms:us-east-1:444444444444:alias/vault"',
    ],
  ])('given %s, when parsed, then it is refused at its key path', (_what, text, message) => {
    expect(problems(text)).toEqual([`${SOURCE}: ${message}`]);
  });
});
