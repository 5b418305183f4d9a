import { findSecretLikeValues } from '../../../lib/config/secret-scan';

describe('findSecretLikeValues', () => {
  describe('given a value that is a credential', () => {
    it.each<[string, unknown, Array<string | number>, string]>([
      ['an AWS access key id', { accessKeyId: 'AKIAIOSFODNN7EXAMPLE' }, ['accessKeyId'], 'an AWS access key id'],
      [
        'a temporary AWS access key id inside text',
        { note: 'use ASIAIOSFODNN7EXAMPLE here' },
        ['note'],
        'an AWS access key id',
      ],
      [
        'an AWS secret access key',
        { value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
        ['value'],
        'an AWS secret access key',
      ],
      [
        'a private key',
        { key: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\n' },
        ['key'],
        'a private key',
      ],
      ['a bearer token', { header: 'Bearer abc.def' }, ['header'], 'a bearer token'],
      ['a JSON Web Token', { jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl' }, ['jwt'], 'a JSON Web Token'],
      ['a GitHub token', { ci: 'ghp_0123456789abcdefghijABCDEFGHIJ' }, ['ci'], 'a GitHub token'],
      ['a Slack bot token', { bot: 'xoxb-1234567890-abcdefghij' }, ['bot'], 'a Slack token'],
      [
        'a Slack webhook URL',
        { notifications: { slackWebhookSecret: 'https://hooks.slack.com/services/T0000/B0000/XXXXXXXX' } },
        ['notifications', 'slackWebhookSecret'],
        'a Slack webhook URL',
      ],
      [
        'a database URL with a password',
        { dsn: 'postgres://app:s3cret@db.internal:5432/shop' },
        ['dsn'],
        'a URL with a password in it',
      ],
      ['a value under a password key', { password: 'hunter2' }, ['password'], 'a password value'],
      ['a value under a token key', { token: 'abc123' }, ['token'], 'a token value'],
      ['a value under a client secret key', { client_secret: 'abc123' }, ['client_secret'], 'a client_secret value'],
      ['a value under a secret key', { secret: 'abc123' }, ['secret'], 'a secret value'],
      [
        'a credential deep in a list',
        { apps: { shop: { environments: { prod: { health: [{ url: 'https://u:p@shop.example.com/health' }] } } } } },
        ['apps', 'shop', 'environments', 'prod', 'health', 0, 'url'],
        'a URL with a password in it',
      ],
    ])('when it holds %s, then it is found with its path and reason', (_case, raw, path, reason) => {
      // when
      const findings = findSecretLikeValues(raw);

      // then
      expect(findings).toEqual([{ path, reason }]);
    });

    it('when several values are credentials, then each is reported', () => {
      // given
      const raw = { auth: { tokensSecret: 'AKIAIOSFODNN7EXAMPLE' }, databases: { db: { password: 'hunter2' } } };

      // when
      const findings = findSecretLikeValues(raw);

      // then
      expect(findings).toEqual([
        { path: ['auth', 'tokensSecret'], reason: 'an AWS access key id' },
        { path: ['databases', 'db', 'password'], reason: 'a password value' },
      ]);
    });
  });

  describe('given a value that only names or points at something', () => {
    it.each<[string, unknown]>([
      ['a secret name under tokensSecret', { auth: { tokensSecret: 'slipway/api-tokens' } }],
      [
        'a secret ARN under slackWebhookSecret',
        { slackWebhookSecret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:slipway/slack-AbCdEf' },
      ],
      ['a secret name under a key ending in SecretArn', { passwordSecretArn: 'shop/db-password' }],
      ['a secret name under a key ending in Secret', { clientSecret: 'shop/oauth-client' }],
      ['a number under a token key', { tokenCacheSeconds: 60 }],
      ['an empty password', { password: '' }],
      ['an ECR repository URL', { repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend' }],
      ['a Docker Hub repository', { repository: 'library/nginx' }],
      ['a registry with a port', { repository: 'registry.example.com:5000/team/shop' }],
      ['a cron expression', { schedule: 'cron(0 3 * * ? *)' }],
      ['a rate expression', { schedule: 'rate(1 day)' }],
      ['a tag glob', { release: { tags: 'develop-*' } }],
      ['a tag regexp', { release: { regexp: '^v[0-9]+\\.[0-9]+\\.[0-9]+$' } }],
      ['a health URL', { health: [{ url: 'https://shop.example.com/health/ready', expectStatus: 200 }] }],
      ['a URL with a user but no password', { url: 'https://deploy@git.example.com/shop.git' }],
      ['a URL with a port and an @ in its path', { url: 'https://shop.example.com:8443/users/@me' }],
      ['an ECS cluster ARN', { cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/shop-prod' }],
      ['EFS ids', { fileSystemId: 'fs-0123456789abcdef0', accessPointId: 'fsap-0123456789abcdef0' }],
      ['a region, booleans and numbers', { copyToRegion: 'us-west-2', exportToS3: true, retention: { daily: 7 } }],
      ['a git commit id', { note: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' }],
      ['nothing at all', null],
    ])('when it holds %s, then nothing is found', (_case, raw) => {
      // when
      const findings = findSecretLikeValues(raw);

      // then
      expect(findings).toEqual([]);
    });
  });
});
