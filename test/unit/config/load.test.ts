import { configPathFor, loadConfigFile, loadStageConfig, parseConfig } from '../../../lib/config/load';
import { ConfigError } from '../../../lib/errors';
import { COMMITTED_CONFIGS } from '../../support/configs';
import { thrown } from '../../support/thrown';

const SOURCE = 'config/prod.yml';
const NO_SECRETS =
  "config files hold no secret values: store it in AWS Secrets Manager and put the secret's name here instead";

/** The smallest valid file, followed by `rest` (YAML at the top level). */
const withAuth = (rest = '') => `auth:\n  tokensSecret: slipway/api-tokens\n${rest}`;

/** A valid file with app `shop` whose `environments:` block is `environments` (indented six spaces). */
const withEnvironments = (environments: string) =>
  withAuth(
    [
      'apps:',
      '  shop:',
      '    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend',
      '    containers: [backend]',
      '    environments:',
      environments,
    ].join('\n'),
  );

const production = (extra: string) =>
  ['      production:', '        cluster: shop-prod', '        service: backend', extra, ''].join('\n');

describe('parseConfig and loadConfigFile', () => {
  describe('given the committed config files', () => {
    it.each(COMMITTED_CONFIGS)('when %s is loaded, then it is valid', (path) => {
      // when
      const config = loadConfigFile(path);

      // then
      expect(config.auth.tokensSecret).toBe('slipway/api-tokens');
      expect(config.apps.shop?.environments.production?.promoteFrom).toBe('staging');
    });

    it('when config/example.yml is loaded, then it shows both kinds of database and all three release rules', () => {
      // when
      const config = loadConfigFile('config/example.yml');

      // then
      expect(config.databases['shop-db']?.rdsInstance).toBe('shop-prod-db');
      expect(config.databases['reports-db']?.rdsCluster).toBe('reports-aurora');
      const environments = config.apps.shop?.environments;
      // The tag glob is carried compiled, for the functions to match without picomatch.
      expect(environments?.staging?.release).toEqual({ tags: 'develop-*', tagsRegExp: expect.any(String) });
      expect(environments?.qa?.release).toEqual({ regexp: '^qa-[0-9]+$' });
      expect(environments?.production?.release).toEqual({
        semver: 'minor',
        force: false,
        prerelease: false,
        minAgeMinutes: 30,
        maxFindings: { CRITICAL: 0, HIGH: 5 },
        scanTimeoutMinutes: 60,
      });
    });

    it('when loadStageConfig("prod") runs, then it reads config/prod.yml and fills in the defaults', () => {
      // when
      const config = loadStageConfig('prod');

      // then
      expect(config.auth.tokenCacheSeconds).toBe(60);
      expect(config.notifications).toEqual({});
      expect(config.apps.shop?.environments.staging).toMatchObject({ approvals: 0, bakeMinutes: 0, alarms: [] });
      expect(config.apps.shop?.environments.production?.health).toEqual([
        {
          url: 'https://shop.example.com/health/ready',
          expectStatus: 200,
          timeoutMs: 5_000,
          followRedirects: false,
          allowUntrustedCertificate: false,
          stage: 'production',
        },
      ]);
      expect(config.volumes['shop-uploads']?.retention).toEqual({ daily: 7, weekly: 4, monthly: 0 });
    });
  });

  describe('given the smallest valid file', () => {
    it('when it is parsed, then every optional section takes its default', () => {
      // when
      const config = parseConfig(withAuth(), SOURCE);

      // then
      expect(config).toEqual({
        auth: { tokensSecret: 'slipway/api-tokens', tokenCacheSeconds: 60 },
        deployments: { keepRevisions: 10, timeoutMinutes: 60, settleAfterMinutes: 10, approvalHours: 24 },
        probes: { schedule: 'rate(1 minute)', concurrency: 32 },
        backups: { manualSnapshotQuota: 100, maxCopiesInFlight: 5, maxExportsInFlight: 5 },
        notifications: {},
        audit: { retentionDays: 400 },
        accounts: {},
        apps: {},
        databases: {},
        volumes: {},
      });
    });

    it('when a database leaves out schedule and retention, then it gets the nightly defaults', () => {
      // when
      const config = parseConfig(withAuth('databases:\n  shop-db:\n    rdsCluster: shop-aurora\n'), SOURCE);

      // then
      expect(config.databases['shop-db']).toEqual({
        rdsCluster: 'shop-aurora',
        schedule: 'cron(0 3 * * ? *)',
        retention: { daily: 7, weekly: 4, monthly: 0 },
        exportToS3: false,
      });
    });
  });

  describe('given an invalid file', () => {
    it.each<[string, string, string]>([
      [
        'approvals is not a number',
        withEnvironments(production('        approvals: one')),
        `${SOURCE}: apps.shop.environments.production.approvals: expected an integer >= 0, received "one"`,
      ],
      [
        'health alarms that fire on more minutes than they look back over',
        withEnvironments(production('        healthAlarms: { datapointsToAlarm: 6, evaluationPeriods: 5 }')),
        `${SOURCE}: apps.shop.environments.production.healthAlarms.datapointsToAlarm: expected at most evaluationPeriods (5), received 6: an alarm fires on datapointsToAlarm of the last evaluationPeriods minutes`,
      ],
      [
        'health alarms looking back over fewer minutes than the default datapointsToAlarm (3)',
        withEnvironments(production('        healthAlarms: { evaluationPeriods: 2 }')),
        `${SOURCE}: apps.shop.environments.production.healthAlarms.datapointsToAlarm: expected at most evaluationPeriods (2), received 3: an alarm fires on datapointsToAlarm of the last evaluationPeriods minutes`,
      ],
      [
        'a key the schema does not know (a typo)',
        withEnvironments(production('        aprovals: 1')),
        `${SOURCE}: apps.shop.environments.production.aprovals: is not a known key`,
      ],
      [
        'auth without tokensSecret',
        'auth:\n  tokenCacheSeconds: 60\n',
        `${SOURCE}: auth.tokensSecret: is required: expected a Secrets Manager secret name or ARN`,
      ],
      ['an empty file', '', `${SOURCE}: auth: is required: expected an auth section {tokensSecret}`],
      [
        'a list instead of a mapping',
        '- auth\n',
        `${SOURCE}: (top level): expected a Slipway configuration with auth, apps, databases and volumes, received ["auth"]`,
      ],
      [
        'an export to S3 without the role RDS needs',
        withAuth('databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    exportToS3: true\n'),
        `${SOURCE}: databases.shop-db.exportRoleArn: is required with exportToS3: true (StartExportTask needs a role and a KMS key)`,
      ],
      [
        'a database name ending with a dash (its snapshot identifier would hold two in a row)',
        withAuth('databases:\n  shop-:\n    rdsInstance: shop-prod-db\n'),
        `${SOURCE}: databases.shop-: expected a database name of lowercase letters, digits and dashes, starting with a letter, at most 63 characters, not ending with a dash nor holding two in a row (RDS snapshot identifiers cannot), received "shop-"`,
      ],
      [
        'a database name with two dashes in a row',
        withAuth('databases:\n  shop--db:\n    rdsInstance: shop-prod-db\n'),
        `${SOURCE}: databases.shop--db: expected a database name of lowercase letters, digits and dashes, starting with a letter, at most 63 characters, not ending with a dash nor holding two in a row (RDS snapshot identifiers cannot), received "shop--db"`,
      ],
      [
        'a cluster database whose snapshot identifier would pass 63 characters',
        withAuth(`databases:\n  ${'a'.repeat(43)}:\n    rdsCluster: reports-aurora\n`),
        `${SOURCE}: databases.${'a'.repeat(43)}: expected a database name of at most 42 characters for a DB cluster: its snapshots are named slipway-${'a'.repeat(43)}-<yyyymmddhhmm>, and RDS takes at most 63`,
      ],
      [
        'more exports in flight than RDS runs per account',
        withAuth('backups:\n  maxExportsInFlight: 6\n'),
        `${SOURCE}: backups.maxExportsInFlight: expected an integer from 1 to 5, received 6`,
      ],
      [
        'a KMS alias where kmsKeyArn takes a key ARN',
        withAuth('databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    kmsKeyArn: alias/aws/rds\n'),
        `${SOURCE}: databases.shop-db.kmsKeyArn: expected a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<key id> (not an alias: Slipway grants the use of a key by its ARN, and IAM does not match a key by an alias), received "alias/aws/rds"`,
      ],
      [
        'a database with both rdsInstance and rdsCluster',
        withAuth('databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    rdsCluster: shop-aurora\n'),
        `${SOURCE}: databases.shop-db: expected exactly one of rdsInstance or rdsCluster, received both`,
      ],
      [
        'a database with neither rdsInstance nor rdsCluster',
        withAuth('databases:\n  shop-db:\n    exportToS3: false\n'),
        `${SOURCE}: databases.shop-db: expected exactly one of rdsInstance or rdsCluster, received neither`,
      ],
      [
        'a five-field cron schedule',
        withAuth('databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    schedule: cron(0 3 * * *)\n'),
        `${SOURCE}: databases.shop-db.schedule: expected a schedule expression such as cron(0 3 * * ? *) (six fields) or rate(1 day), received "cron(0 3 * * *)"`,
      ],
      [
        'a negative retention',
        withAuth(
          'volumes:\n  shop-uploads:\n    fileSystemId: fs-0123456789abcdef0\n    accessPointId: fsap-0123456789abcdef0\n    retention: { daily: -1 }\n' +
            'worker:\n  image: slipway-worker:1.0.0\n  subnetIds: [subnet-0a1b2c3d4e5f60718]\n  securityGroupIds: [sg-0a1b2c3d4e5f60718]\n',
        ),
        `${SOURCE}: volumes.shop-uploads.retention.daily: expected an integer >= 0, received -1`,
      ],
      [
        'a region name instead of a region code in copyToRegion',
        withAuth('databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    copyToRegion: Oregon\n'),
        `${SOURCE}: databases.shop-db.copyToRegion: expected an AWS region such as us-west-2, received "Oregon"`,
      ],
      [
        'a KMS alias in copyKmsKeyId, which an IAM policy cannot grant the use of',
        withAuth(
          'databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    copyToRegion: us-west-2\n    copyKmsKeyId: alias/shop-backups\n',
        ),
        `${SOURCE}: databases.shop-db.copyKmsKeyId: expected a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<key id> (not an alias: Slipway grants the use of a key by its ARN, and IAM does not match a key by an alias), received "alias/shop-backups"`,
      ],
      [
        'a KMS alias ARN in kmsKeyArn',
        withAuth(
          'databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:alias/shop-db\n',
        ),
        `${SOURCE}: databases.shop-db.kmsKeyArn: expected a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<key id> (not an alias: Slipway grants the use of a key by its ARN, and IAM does not match a key by an alias), received "arn:aws:kms:us-east-1:123456789012:alias/shop-db"`,
      ],
      [
        'a bare key id in exportKmsKeyId',
        withAuth(
          'databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    exportKmsKeyId: 9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4\n',
        ),
        `${SOURCE}: databases.shop-db.exportKmsKeyId: expected a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<key id> (not an alias: Slipway grants the use of a key by its ARN, and IAM does not match a key by an alias), received "9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4"`,
      ],
      [
        'a copy key in another region than copyToRegion',
        withAuth(
          'databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    copyToRegion: us-west-2\n    copyKmsKeyId: arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n',
        ),
        `${SOURCE}: databases.shop-db.copyKmsKeyId: is a key in us-east-1, not in copyToRegion us-west-2: a copy is encrypted in its destination region`,
      ],
      [
        'a lifecycle hook role given by name',
        withEnvironments(production('        lifecycleHookRoles: [shop-lifecycle-hook]')),
        `${SOURCE}: apps.shop.environments.production.lifecycleHookRoles[0]: expected an IAM role ARN, received "shop-lifecycle-hook"`,
      ],
      [
        'promoteFrom naming an environment that does not exist',
        withEnvironments(
          `      staging:\n        cluster: shop-staging\n        service: backend\n${production('        promoteFrom: stage')}`,
        ),
        `${SOURCE}: apps.shop.environments.production.promoteFrom: expected another environment of app shop (staging), received "stage"`,
      ],
      [
        'promoteFrom naming its own environment',
        withEnvironments(production('        promoteFrom: production')),
        `${SOURCE}: apps.shop.environments.production.promoteFrom: expected another environment of app shop, but it has no other, received "production"`,
      ],
      [
        'a release regexp that does not compile',
        withEnvironments(production('        release: { regexp: "v(" }')),
        `${SOURCE}: apps.shop.environments.production.release.regexp: expected a valid regular expression, received "v("`,
      ],
      [
        'a release glob with an unclosed bracket',
        withEnvironments(production('        release: { tags: "release-[0-9" }')),
        `${SOURCE}: apps.shop.environments.production.release.tags: expected a valid tag glob, received "release-[0-9" (Missing closing: "]")`,
      ],
      [
        'a scan gate with an unknown severity',
        withEnvironments(production('        release: { semver: minor, maxFindings: { SEVERE: 1 } }')),
        `${SOURCE}: apps.shop.environments.production.release.maxFindings.SEVERE: is not a known key`,
      ],
      [
        'two release rules at once',
        withEnvironments(production('        release: { tags: "v*", semver: minor }')),
        `${SOURCE}: apps.shop.environments.production.release: expected exactly one of tags, regexp or semver, received tags and semver`,
      ],
      [
        'an unknown semver level',
        withEnvironments(production('        release: { semver: minr }')),
        `${SOURCE}: apps.shop.environments.production.release.semver: expected one of major, minor, patch, all, received "minr"`,
      ],
      [
        'an environment name with capitals',
        withEnvironments('      Production:\n        cluster: shop-prod\n        service: backend\n'),
        `${SOURCE}: apps.shop.environments.Production: expected an environment name of lowercase letters, digits and dashes, starting with a letter, at most 63 characters, received "Production"`,
      ],
      [
        'a password value',
        withAuth('databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    password: hunter2\n'),
        `${SOURCE}: databases.shop-db.password: looks like a password value; ${NO_SECRETS}`,
      ],
      [
        'an AWS access key id where a secret name belongs',
        'auth:\n  tokensSecret: AKIAIOSFODNN7EXAMPLE\n',
        `${SOURCE}: auth.tokensSecret: looks like an AWS access key id; ${NO_SECRETS}`,
      ],
      [
        'a private key',
        withAuth(
          'notifications:\n  slackWebhookSecret: |\n    -----BEGIN RSA PRIVATE KEY-----\n    MIIEowIBAAKCAQEA\n    -----END RSA PRIVATE KEY-----\n',
        ),
        `${SOURCE}: notifications.slackWebhookSecret: looks like a private key; ${NO_SECRETS}`,
      ],
      [
        'a Slack webhook URL instead of the name of the secret holding it',
        withAuth('notifications:\n  slackWebhookSecret: https://hooks.slack.com/services/T0000/B0000/XXXXXXXX\n'),
        `${SOURCE}: notifications.slackWebhookSecret: looks like a Slack webhook URL; ${NO_SECRETS}`,
      ],
      [
        'YAML with an unclosed flow sequence',
        withAuth('apps:\n  shop:\n    containers: [backend\n    repository: shop-backend\n'),
        `${SOURCE}:6:5: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      ],
      [
        'a tag glob starting with * left unquoted (a YAML alias)',
        withEnvironments(production('        release: { tags: *-develop }')),
        `${SOURCE}:11:26: invalid YAML: *-develop is an alias, but no &-develop anchor comes before it; quote the value ("*-develop") if it is not meant as an alias`,
      ],
      [
        'a webhook scheme Slipway does not know',
        withAuth('webhooks:\n  signingSecret: slipway/registry-webhooks\n  schemes: [slipway, sha1]\n'),
        `${SOURCE}: webhooks.schemes[1]: expected one of slipway, github, received "sha1"`,
      ],
      [
        'no webhook scheme at all',
        withAuth('webhooks:\n  signingSecret: slipway/registry-webhooks\n  schemes: []\n'),
        `${SOURCE}: webhooks.schemes: expected at least one of slipway, github, received []`,
      ],
      [
        'a webhook scheme given twice',
        withAuth('webhooks:\n  signingSecret: slipway/registry-webhooks\n  schemes: [github, github]\n'),
        `${SOURCE}: webhooks.schemes: expected each scheme once, received ["github","github"]`,
      ],
      [
        'YAML with a key given twice',
        `${withAuth()}auth:\n  tokensSecret: other\n`,
        `${SOURCE}:3:1: invalid YAML: Map keys must be unique`,
      ],
      [
        'YAML indented with a tab',
        'auth:\n\ttokensSecret: slipway/api-tokens\n',
        `${SOURCE}:2:1: invalid YAML: Tabs are not allowed as indentation`,
      ],
    ])('when it has %s, then the error names the file, the key path and the reason', (_case, text, message) => {
      // when
      const error = thrown(() => parseConfig(text, SOURCE));

      // then
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(message);
    });

    it('when it has several problems, then each is reported on its own line', () => {
      // given
      const text = withAuth(
        [
          'apps:',
          '  shop:',
          '    repository: shop-backend:latest',
          '    containers: []',
          '    environments:',
          '      production:',
          '        cluster: shop-prod',
          '        service: backend',
          '        health:',
          '          - url: ftp://shop.example.com/health',
          '            expectStatus: 700',
          '',
        ].join('\n'),
      );

      // when
      const error = thrown(() => parseConfig(text, SOURCE));

      // then
      expect(error.message).toBe(
        [
          `${SOURCE}: apps.shop.repository: expected an image repository without tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop, received "shop-backend:latest"`,
          `${SOURCE}: apps.shop.containers: expected at least one container name, received []`,
          `${SOURCE}: apps.shop.environments.production.health[0].url: expected an http(s) URL, received "ftp://shop.example.com/health"`,
          `${SOURCE}: apps.shop.environments.production.health[0].expectStatus: expected an integer from 100 to 599, received 700`,
        ].join('\n'),
      );
    });

    it('when it holds secret values, then they are refused before the schema is checked', () => {
      // given: an unknown key too, which the schema would report
      const text = withAuth('databases:\n  shop-db:\n    rdsInstance: shop-prod-db\n    password: hunter2\nextra: 1\n');

      // when
      const error = thrown(() => parseConfig(text, SOURCE));

      // then
      expect(error.message).toBe(`${SOURCE}: databases.shop-db.password: looks like a password value; ${NO_SECRETS}`);
    });
  });

  describe('given a file that cannot be read', () => {
    it('when loadConfigFile is called on a missing path, then the error names the path and the reason', () => {
      // when
      const error = thrown(() => loadConfigFile('config/missing.yml'));

      // then
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe('config/missing.yml: cannot be read (ENOENT)');
    });

    it('when loadConfigFile is called on a directory, then the error says so', () => {
      // when
      const error = thrown(() => loadConfigFile('config'));

      // then
      expect(error.message).toBe('config: cannot be read (EISDIR)');
    });

    it('when the stage name could escape the config directory, then it is refused before any read', () => {
      // when
      const error = thrown(() => loadStageConfig('../prod'));

      // then
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe('stage "../prod": expected lowercase letters, digits and dashes');
      expect(configPathFor('prod')).toBe('config/prod.yml');
    });
  });
});
