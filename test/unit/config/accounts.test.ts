import { parseConfig } from '../../../lib/config/load';
import { ConfigError } from '../../../lib/errors';
import { thrown } from '../../support/thrown';

/** The accounts section, and where config places environments, databases and volumes: every refusal names its key path. */

const SOURCE = 'config/prod.yml';
const STAGING_ROLE = 'arn:aws:iam::222222222222:role/slipway-member';
const PRODUCTION_ROLE = 'arn:aws:iam::333333333333:role/slipway-member';
const VOLUME_ELSEWHERE =
  "a volume must be in the control plane's own account and region: it is archived on EFS mounted by a Lambda function (or the worker task) of the control plane, which mounts file systems of its own account only. Volumes in other accounts are not supported yet; leave account and region out";

/** A valid file but for `rest`, which is YAML at the top level. */
const file = (rest: string) => `auth:\n  tokensSecret: slipway/api-tokens\n${rest}`;

const ACCOUNTS = [
  'accounts:',
  '  staging:',
  `    roleArn: ${STAGING_ROLE}`,
  '    externalIdSecret: slipway/staging-external-id',
  '    regions: [eu-west-1, eu-central-1]',
  '  production:',
  `    roleArn: ${PRODUCTION_ROLE}`,
  '',
].join('\n');

/** App shop with one environment, production, with `extra` lines (indented eight spaces). */
const environment = (...extra: string[]) =>
  [
    'apps:',
    '  shop:',
    '    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend',
    '    containers: [backend]',
    '    environments:',
    '      production:',
    '        cluster: shop-prod',
    '        service: backend',
    ...extra.map((line) => `        ${line}`),
    '',
  ].join('\n');

const database = (...extra: string[]) =>
  ['databases:', '  shop-db:', '    rdsInstance: shop-prod-db', ...extra.map((line) => `    ${line}`), ''].join('\n');

const volume = (...extra: string[]) =>
  [
    'volumes:',
    '  uploads:',
    '    fileSystemId: fs-0123456789abcdef0',
    '    accessPointId: fsap-0123456789abcdef0',
    ...extra.map((line) => `    ${line}`),
    'worker:',
    '  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-worker:1.0.0',
    '  subnetIds: [subnet-0a1b2c3d4e5f60718]',
    '  securityGroupIds: [sg-0a1b2c3d4e5f60718]',
    '',
  ].join('\n');

const problems = (text: string) => {
  const error = thrown<ConfigError>(() => parseConfig(text, SOURCE));
  expect(error).toBeInstanceOf(ConfigError);
  return error.message.split('\n');
};

describe('the accounts section', () => {
  it('given accounts with a role, an external id secret and regions, when parsed, then they are kept as written', () => {
    // when
    const config = parseConfig(file(ACCOUNTS), SOURCE);

    // then
    expect(config.accounts).toEqual({
      staging: {
        roleArn: STAGING_ROLE,
        externalIdSecret: 'slipway/staging-external-id',
        regions: ['eu-west-1', 'eu-central-1'],
      },
      production: { roleArn: PRODUCTION_ROLE },
    });
  });

  it('given the organization of the accounts, when parsed, then it is kept as written', () => {
    const config = parseConfig(file(`organizationId: o-a1b2c3d4e5\n${ACCOUNTS}`), SOURCE);

    expect(config.organizationId).toBe('o-a1b2c3d4e5');
  });

  it('given an organization but no accounts, when parsed, then the organization is refused: it holds nothing to', () => {
    expect(problems(file('organizationId: o-a1b2c3d4e5\n'))).toEqual([
      `${SOURCE}: organizationId: applies only with accounts, which are absent: the bus takes no other account’s events without them`,
    ]);
  });

  it('given no accounts section, when parsed, then there is none: only the control plane’s own account', () => {
    expect(parseConfig(file(''), SOURCE).accounts).toEqual({});
  });

  it.each([
    ['a user ARN', 'arn:aws:iam::222222222222:user/deployer'],
    ['a role name', 'slipway-member'],
    ['an account id short of a digit', 'arn:aws:iam::22222222222:role/slipway-member'],
    ['an STS assumed-role ARN', 'arn:aws:sts::222222222222:assumed-role/member/s'],
  ])('given %s as roleArn, when parsed, then it is refused at accounts.<name>.roleArn', (_what, value) => {
    expect(problems(file(`accounts:\n  staging:\n    roleArn: ${value}\n`))).toEqual([
      `${SOURCE}: accounts.staging.roleArn: expected an IAM role ARN, received ${JSON.stringify(value)}`,
    ]);
  });

  it('given one role ARN under two names, when parsed, then the second is refused naming the first', () => {
    // given
    const text = file(`accounts:\n  staging:\n    roleArn: ${STAGING_ROLE}\n  qa:\n    roleArn: ${STAGING_ROLE}\n`);

    // then
    expect(problems(text)).toEqual([
      `${SOURCE}: accounts.qa.roleArn: is account staging's role too: each account is named once, with its own role`,
    ]);
  });

  it.each([
    [
      'an account name with capitals',
      'accounts:\n  Staging:\n    roleArn: ROLE\n',
      'accounts.Staging',
      'expected an account name',
    ],
    ['no roleArn', 'accounts:\n  staging:\n    regions: [eu-west-1]\n', 'accounts.staging.roleArn', 'is required'],
    [
      'a region that is not one',
      'accounts:\n  staging:\n    roleArn: ROLE\n    regions: [europe]\n',
      'accounts.staging.regions[0]',
      'expected an AWS region',
    ],
    [
      'a region twice',
      'accounts:\n  staging:\n    roleArn: ROLE\n    regions: [eu-west-1, eu-west-1]\n',
      'accounts.staging.regions',
      'expected each region once',
    ],
    [
      'an empty list of regions',
      'accounts:\n  staging:\n    roleArn: ROLE\n    regions: []\n',
      'accounts.staging.regions',
      'expected at least one AWS region',
    ],
    [
      'an external id in place of its secret',
      'accounts:\n  staging:\n    roleArn: ROLE\n    externalIdSecret: "not a secret name!"\n',
      'accounts.staging.externalIdSecret',
      'expected a Secrets Manager secret name or ARN',
    ],
    [
      'an unknown key',
      'accounts:\n  staging:\n    roleArn: ROLE\n    sessionName: deploys\n',
      'accounts.staging.sessionName',
      'is not a known key',
    ],
    [
      'an organization id that is not one',
      'organizationId: o-ABCDEFGHIJ\naccounts:\n  staging:\n    roleArn: ROLE\n',
      'organizationId',
      'expected an AWS Organizations id',
    ],
  ])('given %s, when parsed, then it is refused at its key path', (_what, yaml, path, reason) => {
    const [first, ...rest] = problems(file(yaml.replaceAll('ROLE', STAGING_ROLE)));
    expect(rest).toEqual([]);
    expect(first?.startsWith(`${SOURCE}: ${path}: ${reason}`)).toBe(true);
  });
});

describe('where config places environments, databases and volumes', () => {
  it.each([
    ['an environment', environment('account: billing'), 'apps.shop.environments.production.account'],
    ['a database', database('account: billing'), 'databases.shop-db.account'],
    ['a volume', volume('account: billing'), 'volumes.uploads.account'],
  ])(
    'given %s in an account config does not name, when parsed, then it is refused naming the accounts',
    (_what, yaml, path) => {
      expect(problems(file(`${ACCOUNTS}${yaml}`))).toEqual([
        `${SOURCE}: ${path}: expected one of the accounts config names (staging, production), received "billing"`,
      ]);
    },
  );

  it('given an account named with no accounts section, when parsed, then it says none is configured', () => {
    expect(problems(file(environment('account: staging')))).toEqual([
      `${SOURCE}: apps.shop.environments.production.account: expected the name of an account under accounts, but none is configured, received "staging"`,
    ]);
  });

  it.each([
    ['an environment', environment, 'apps.shop.environments.production.region'],
    ['a database', database, 'databases.shop-db.region'],
    ['a volume', volume, 'volumes.uploads.region'],
  ])(
    "given %s in a region its account does not list, when parsed, then it is refused naming the account's regions",
    (_what, place, path) => {
      expect(problems(file(`${ACCOUNTS}${place('account: staging', 'region: us-west-2')}`))).toEqual([
        `${SOURCE}: ${path}: expected one of account staging's regions (eu-west-1, eu-central-1), received "us-west-2"`,
      ]);
    },
  );

  it.each([
    ['in an account', ['account: staging', 'region: eu-west-1'], 'account'],
    ['in an account that lists no regions', ['account: production'], 'account'],
    ['in another region of the own account', ['region: eu-west-1'], 'region'],
  ])('given an environment %s, when parsed, then it is accepted with its place', (_what, lines) => {
    // Deployments act in the account and region through the account's role (lib/wiring/accounts.ts).
    const parsed = parseConfig(file(`${ACCOUNTS}${environment(...lines)}`), SOURCE);
    const production = parsed.apps.shop?.environments.production;
    expect({ account: production?.account, region: production?.region }).toEqual(
      Object.fromEntries(lines.map((line) => line.split(': ') as [string, string])),
    );
  });

  it.each([
    ['in an account', ['account: staging', 'region: eu-west-1']],
    ['in an account that lists no regions', ['account: production']],
    ['in another region of the own account', ['region: eu-west-1']],
    [
      'in an account, copied to another of its regions',
      ['account: staging', 'region: eu-west-1', 'copyToRegion: eu-central-1'],
    ],
  ])('given a database %s, when parsed, then it is accepted with its place', (_what, lines) => {
    // Backups, restores and RDS events act there through the account's role (lib/wiring/rds.ts).
    const parsed = parseConfig(file(`${ACCOUNTS}${database(...lines)}`), SOURCE);
    const db = parsed.databases['shop-db'];
    expect({ account: db?.account, region: db?.region, copyToRegion: db?.copyToRegion }).toEqual({
      account: undefined,
      region: undefined,
      copyToRegion: undefined,
      ...Object.fromEntries(lines.map((line) => line.split(': ') as [string, string])),
    });
  });

  it("given a database in an account copied to a region the account does not list, when parsed, then copyToRegion is refused naming the account's regions", () => {
    expect(
      problems(file(`${ACCOUNTS}${database('account: staging', 'region: eu-west-1', 'copyToRegion: us-west-2')}`)),
    ).toEqual([
      `${SOURCE}: databases.shop-db.copyToRegion: expected one of account staging's regions (eu-west-1, eu-central-1): the copy is made in that account, received "us-west-2"`,
    ]);
  });

  const EXPORT_ROLE = 'exportRoleArn: arn:aws:iam::222222222222:role/rds-export';
  const EXPORT_KEY = 'exportKmsKeyId: arn:aws:kms:eu-west-1:222222222222:key/1f2e3d4c-5b6a-4789-8123-456789abcdef';
  const exportedFromStaging = (...lines: string[]) =>
    file(`${ACCOUNTS}${database('account: staging', 'region: eu-west-1', 'exportToS3: true', ...lines)}`);

  it('given a database in an account exported with a role and a key of that account in its region, when parsed, then it is accepted', () => {
    const parsed = parseConfig(exportedFromStaging(EXPORT_ROLE, EXPORT_KEY), SOURCE);
    expect(parsed.databases['shop-db']).toMatchObject({ account: 'staging', exportToS3: true });
  });

  it('given a database in an account exported with a key of its copy’s region, when parsed, then it is accepted: the copy is exported', () => {
    const key = 'exportKmsKeyId: arn:aws:kms:eu-central-1:222222222222:key/1f2e3d4c-5b6a-4789-8123-456789abcdef';
    const parsed = parseConfig(exportedFromStaging(EXPORT_ROLE, key, 'copyToRegion: eu-central-1'), SOURCE);
    expect(parsed.databases['shop-db']?.copyToRegion).toBe('eu-central-1');
  });

  it.each([
    [
      'a role of another account',
      ['exportRoleArn: arn:aws:iam::123456789012:role/rds-export', EXPORT_KEY],
      'exportRoleArn: is a role of account 123456789012, but the database is in account staging (222222222222): RDS exports it there, with a role of that account',
    ],
    [
      'a key of another account',
      [EXPORT_ROLE, 'exportKmsKeyId: arn:aws:kms:eu-west-1:333333333333:key/1f2e3d4c-5b6a-4789-8123-456789abcdef'],
      'exportKmsKeyId: is a key of account 333333333333, but the database is in account staging (222222222222): RDS exports it there, with a key of that account',
    ],
    [
      'a key of another region',
      [EXPORT_ROLE, 'exportKmsKeyId: arn:aws:kms:us-east-1:222222222222:key/1f2e3d4c-5b6a-4789-8123-456789abcdef'],
      "exportKmsKeyId: is a key in us-east-1, but the snapshots exported are in eu-west-1: RDS encrypts an export with a key of its snapshot's region",
    ],
  ])(
    'given a database in an account exported with %s, when parsed, then that key path is refused',
    (_what, lines, problem) => {
      expect(problems(exportedFromStaging(...lines))).toEqual([`${SOURCE}: databases.shop-db.${problem}`]);
    },
  );

  it.each([
    ['in an account', ['account: production'], 'account'],
    ['in another region', ['region: eu-west-1'], 'region'],
  ])(
    'given a volume %s, when parsed, then it is refused: EFS is mounted in the control plane’s account',
    (_what, lines, key) => {
      expect(problems(file(`${ACCOUNTS}${volume(...lines)}`))).toEqual([
        `${SOURCE}: volumes.uploads.${key}: ${VOLUME_ELSEWHERE}`,
      ]);
    },
  );

  it('given environments, databases and volumes with no account nor region, when parsed, then they stay in the control plane’s own', () => {
    // when
    const config = parseConfig(file(`${ACCOUNTS}${environment()}${database()}${volume()}`), SOURCE);

    // then
    expect(config.apps.shop?.environments.production).not.toHaveProperty('account');
    expect(config.apps.shop?.environments.production).not.toHaveProperty('region');
    expect(config.databases['shop-db']).not.toHaveProperty('account');
    expect(config.volumes.uploads).not.toHaveProperty('region');
  });
});
