import { ECSClient } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AccountCredentials,
  type Operation,
  REFRESH_BEFORE_EXPIRY_MS,
  sharedAccountCredentials,
  stsName,
} from '../../../lib/aws/account-credentials';
import { createEcsClient } from '../../../lib/aws/clients/ecs';
import { shared } from '../../../lib/aws/shared-clients';
import { AssumeRoleFailed, ConfigError } from '../../../lib/errors';
import { toErrorResponse } from '../../../lib/http/route-chain';
import { REDACTED, redact } from '../../../lib/observability';

/**
 * Sessions on the roles of other accounts: what AssumeRole is asked (STS API Reference, AssumeRole:
 * RoleSessionName, SourceIdentity, Tags, TransitiveTagKeys, ExternalId, DurationSeconds), how long its
 * credentials are kept, and what a refusal becomes.
 */

const stsMock = mockClient(STSClient);
const secretsMock = mockClient(SecretsManagerClient);

const STAGING_ROLE = 'arn:aws:iam::222222222222:role/slipway-member';
const PRODUCTION_ROLE = 'arn:aws:iam::333333333333:role/platform/slipway-member';
const EXTERNAL_ID = 'shop-staging-7f3a9c1e';
const T0 = Date.parse('2026-12-06T10:00:00Z');
const HOUR = 3_600_000;

const ROLES = {
  staging: { roleArn: STAGING_ROLE, externalIdSecret: 'slipway/staging-external-id' },
  production: { roleArn: PRODUCTION_ROLE },
};

const DEPLOYMENT: Operation = {
  id: 'd-01JEXAMPLE0000000000000000',
  principal: 'ci-deployer',
  app: 'shop',
  environment: 'staging',
};

let now: number;
let issued: number;

/** What STS answers the n-th AssumeRole: keys numbered by the call, expiring an hour after it. */
function sessionCredentials(): AssumeRoleCommandOutput {
  issued += 1;
  return {
    $metadata: {},
    Credentials: {
      AccessKeyId: `ASIAEXAMPLE${issued}`,
      SecretAccessKey: `secret-${issued}`,
      SessionToken: `token-${issued}`,
      Expiration: new Date(now + HOUR),
    },
  };
}

function subject(env: Record<string, string | undefined> = { AWS_REGION: 'us-east-1' }) {
  return new AccountCredentials(ROLES, {
    sts: new STSClient({ region: 'us-east-1' }),
    secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    env,
    now: () => now,
  });
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected it to fail, but it succeeded');
    },
    (error: unknown) => error as AssumeRoleFailed,
  );

beforeEach(() => {
  stsMock.reset();
  secretsMock.reset();
  now = T0;
  issued = 0;
  stsMock.on(AssumeRoleCommand).callsFake(sessionCredentials);
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: EXTERNAL_ID });
});

describe('AccountCredentials', () => {
  it('assumes the account’s role named after the operation, with who asked, its tags, none transitive, and the external id', async () => {
    // When the credentials of a deployment's session on account staging are asked for
    const credentials = await subject().credentials('staging', DEPLOYMENT);

    // Then STS is asked for exactly that session, with the external id read from its secret
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: STAGING_ROLE,
      RoleSessionName: 'd-01JEXAMPLE0000000000000000',
      SourceIdentity: 'ci-deployer',
      DurationSeconds: 3_600,
      Tags: [
        { Key: 'slipway:app', Value: 'shop' },
        { Key: 'slipway:environment', Value: 'staging' },
      ],
      ExternalId: EXTERNAL_ID,
    });
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'slipway/staging-external-id' });
    expect(credentials).toEqual({
      accessKeyId: 'ASIAEXAMPLE1',
      secretAccessKey: 'secret-1',
      sessionToken: 'token-1',
      expiration: new Date(T0 + HOUR),
    });
    // And the external id is kept out of every log line from then on
    expect(redact(`assuming with ${EXTERNAL_ID}`)).toBe(`assuming with ${REDACTED}`);
  });

  it('sends no external id nor tags where the account and the operation have none', async () => {
    // When a backup's session on account production (no external id) is asked for, with no app
    await subject().credentials('production', { id: 'b-1234', principal: 'scheduler' });

    // Then AssumeRole carries neither, and no secret is read
    expect(stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: PRODUCTION_ROLE,
      RoleSessionName: 'b-1234',
      SourceIdentity: 'scheduler',
      DurationSeconds: 3_600,
    });
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
  });

  it.each([
    ['characters STS refuses become dashes', 'oidc:github/octo cat#1', 'oidc-github-octo-cat-1'],
    ['what STS allows is kept', 'A_b+c=d,e.f@g-h', 'A_b+c=d,e.f@g-h'],
    ['a name longer than 64 characters is cut to 64', 'r'.repeat(80), 'r'.repeat(64)],
    ['a name of one character is padded to two', 'x', 'x-'],
    ["a name beginning with STS's reserved aws: no longer does", 'aws:admin', 'aws-admin'],
  ])('sanitises session names and source identities for STS: %s', (_what, input, expected) => {
    expect(stsName(input)).toBe(expected);
  });

  it('sends the sanitised operation id and principal', async () => {
    // When an operation's id and principal hold characters STS refuses
    await subject().credentials('production', { id: `restore/${'9'.repeat(70)}`, principal: 'oidc:alice smith' });

    // Then AssumeRole names them as STS accepts them
    const input = stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
    expect(input?.RoleSessionName).toBe(`restore-${'9'.repeat(56)}`);
    expect(input?.SourceIdentity).toBe('oidc-alice-smith');
  });

  it('reuses a session’s credentials until ten minutes before they expire, then assumes the role again', async () => {
    // Given a session's credentials, valid for an hour
    const credentials = subject();
    await credentials.credentials('staging', DEPLOYMENT);

    // When they are asked for again just before the refresh margin
    now = T0 + HOUR - REFRESH_BEFORE_EXPIRY_MS - 1;
    const kept = await credentials.credentials('staging', DEPLOYMENT);

    // Then they are the same, with no call to STS
    expect(kept.accessKeyId).toBe('ASIAEXAMPLE1');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);

    // When the margin is reached
    now = T0 + HOUR - REFRESH_BEFORE_EXPIRY_MS;
    const renewed = await credentials.credentials('staging', DEPLOYMENT);

    // Then the role is assumed again, ten minutes before the first credentials expire
    expect(REFRESH_BEFORE_EXPIRY_MS).toBe(10 * 60_000);
    expect(renewed.accessKeyId).toBe('ASIAEXAMPLE2');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('keeps one session per account, role and identity: another operation or principal is another session', async () => {
    // Given a deployment's session
    const credentials = subject();
    await credentials.credentials('staging', DEPLOYMENT);

    // When another deployment, another principal and another account ask
    await credentials.credentials('staging', { ...DEPLOYMENT, id: 'd-other' });
    await credentials.credentials('staging', { ...DEPLOYMENT, principal: 'alice' });
    await credentials.credentials('production', DEPLOYMENT);
    await credentials.credentials('staging', DEPLOYMENT);

    // Then each is a session of its own, and the first is reused
    expect(stsMock.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input.RoleSessionName)).toEqual([
      DEPLOYMENT.id,
      'd-other',
      DEPLOYMENT.id,
      DEPLOYMENT.id,
    ]);
  });

  it('assumes the role once for any number of concurrent first uses', async () => {
    // Given STS that answers only when released
    let release: () => void = () => undefined;
    const answered = new Promise<void>((done) => {
      release = done;
    });
    stsMock.on(AssumeRoleCommand).callsFake(async () => {
      await answered;
      return sessionCredentials();
    });
    const credentials = subject();

    // When ten callers ask for the same session at once
    const asked = Array.from({ length: 10 }, () => credentials.credentials('staging', DEPLOYMENT));
    release();
    const answers = await Promise.all(asked);

    // Then one AssumeRole (and one read of the external id) served them all
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(new Set(answers.map((answer) => answer.accessKeyId))).toEqual(new Set(['ASIAEXAMPLE1']));
  });

  it('fails as AssumeRoleFailed, a 502 naming the account and the role, with the STS error as its cause', async () => {
    // Given a role whose trust policy does not name the control plane's role
    const denied = Object.assign(
      new Error(
        'User: arn:aws:sts::111111111111:assumed-role/slipway-prod-createDeployment/x is not authorized to perform: sts:AssumeRole',
      ),
      { name: 'AccessDenied' },
    );
    stsMock.on(AssumeRoleCommand).rejects(denied);

    // When the role is assumed
    const failure = await failureOf(subject().credentials('production', DEPLOYMENT));

    // Then the error names the account and the role, and carries STS's
    expect(failure).toBeInstanceOf(AssumeRoleFailed);
    expect(failure.message).toBe(
      `cannot assume role ${PRODUCTION_ROLE} of account production: STS refused it (AccessDenied)`,
    );
    expect(failure.cause).toBe(denied);
    expect(failure.details).toEqual({ account: 'production', roleArn: PRODUCTION_ROLE });

    // And the HTTP edge answers 502 with that message
    const response = toErrorResponse(failure, 'req-1');
    expect(response.statusCode).toBe(502);
    expect(JSON.parse(response.body as string)).toMatchObject({
      error: {
        code: 'ASSUME_ROLE_FAILED',
        message: failure.message,
        details: { account: 'production', roleArn: PRODUCTION_ROLE },
      },
    });
  });

  it('never puts the external id in an error, even when STS quotes it', async () => {
    // Given STS refusing with a message that quotes the external id
    stsMock
      .on(AssumeRoleCommand)
      .rejects(Object.assign(new Error(`ExternalId ${EXTERNAL_ID} does not match`), { name: 'AccessDenied' }));

    // When the role is assumed
    const failure = await failureOf(subject().credentials('staging', DEPLOYMENT));

    // Then neither the error nor the response the edge makes of it holds the external id
    expect(failure.message).not.toContain(EXTERNAL_ID);
    expect(JSON.stringify(failure.details)).not.toContain(EXTERNAL_ID);
    expect(JSON.stringify(toErrorResponse(failure, 'req-1'))).not.toContain(EXTERNAL_ID);
  });

  it('refuses an external id STS would not accept without sending it, and without quoting it', async () => {
    // Given a secret holding a value STS's ExternalId pattern refuses (its validation error would quote it)
    const malformed = 'has spaces and a secret 42';
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: malformed });

    // When the role is assumed
    const failure = await failureOf(subject().credentials('staging', DEPLOYMENT));

    // Then it fails naming the secret, not its value, and STS is never asked
    expect(failure.message).toBe(
      `cannot assume role ${STAGING_ROLE} of account staging: secret slipway/staging-external-id holds no external id STS accepts (2 to 1224 letters, digits and _+=,.@:/-)`,
    );
    expect(failure.message).not.toContain(malformed);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
  });

  it('fails as AssumeRoleFailed naming the secret when the external id cannot be read', async () => {
    // Given a secret the control plane may not read
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    secretsMock.on(GetSecretValueCommand).rejects(denied);

    // When the role is assumed
    const failure = await failureOf(subject().credentials('staging', DEPLOYMENT));

    // Then the error says why, with Secrets Manager's error beneath it, and STS is never asked
    expect(failure).toBeInstanceOf(AssumeRoleFailed);
    expect(failure.message).toBe(
      `cannot assume role ${STAGING_ROLE} of account staging: its external id cannot be read from Secrets Manager (secret slipway/staging-external-id)`,
    );
    expect((failure.cause as Error).cause).toBe(denied);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
  });

  it('keeps no failure: the next use assumes the role again', async () => {
    // Given a first AssumeRole refused, then allowed
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(Object.assign(new Error('throttled'), { name: 'Throttling' }))
      .callsFake(sessionCredentials);
    const credentials = subject();
    await failureOf(credentials.credentials('production', DEPLOYMENT));

    // When the session is asked for again
    const second = await credentials.credentials('production', DEPLOYMENT);

    // Then STS was asked again, and answered
    expect(second.accessKeyId).toBe('ASIAEXAMPLE1');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it('refuses an account config does not name', () => {
    expect(() => subject().credentials('billing', DEPLOYMENT)).toThrow(
      new ConfigError('account billing is not one config names under accounts'),
    );
  });
});

describe('AccountCredentials.client', () => {
  it('gives the control plane’s own account the shared client, with the function’s own credentials', () => {
    // When a client for the own account is asked for, in its region and in another
    const credentials = subject();
    const own = credentials.client(createEcsClient, {}, DEPLOYMENT);
    const elsewhere = credentials.client(createEcsClient, { region: 'eu-west-1' }, DEPLOYMENT);

    // Then they are the container's shared clients, and no role is assumed
    expect(own).toBe(shared(createEcsClient));
    expect(elsewhere).toBe(shared(createEcsClient, 'eu-west-1'));
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
  });

  it('builds a client of another account through the factory: its region, AWS_ENDPOINT_URL, and the session’s credentials', async () => {
    // Given AWS_ENDPOINT_URL set, as every client honours it
    const credentials = subject({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'https://aws.internal.example:4566' });

    // When a client for account staging in eu-west-1 is asked for, twice
    const client = credentials.client(createEcsClient, { account: 'staging', region: 'eu-west-1' }, DEPLOYMENT);
    const again = credentials.client(createEcsClient, { account: 'staging', region: 'eu-west-1' }, DEPLOYMENT);

    // Then it is one ECS client in that region, at that endpoint, signing with the session's credentials
    expect(client).toBeInstanceOf(ECSClient);
    expect(again).toBe(client);
    expect(await client.config.region()).toBe('eu-west-1');
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.hostname).toBe('aws.internal.example');
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'ASIAEXAMPLE1', sessionToken: 'token-1' });
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    // And another region of the account is another client of the same session
    const other = credentials.client(createEcsClient, { account: 'staging', region: 'us-east-1' }, DEPLOYMENT);
    expect(other).not.toBe(client);
    expect(await other.config.region()).toBe('us-east-1');
  });

  it('drops a session unused for an hour: a later use assumes the role again, with a new client', async () => {
    // Given a deployment's client and credentials
    const credentials = subject();
    const first = credentials.client(createEcsClient, { account: 'staging', region: 'eu-west-1' }, DEPLOYMENT);
    await first.config.credentials();

    // When the container serves other operations for an hour
    now = T0 + HOUR;
    await credentials.credentials('production', { id: 'b-later', principal: 'scheduler' });
    const later = credentials.client(createEcsClient, { account: 'staging', region: 'eu-west-1' }, DEPLOYMENT);

    // Then the first session was forgotten: its client is made again, and asks STS again
    expect(later).not.toBe(first);
    await later.config.credentials();
    expect(stsMock.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input.RoleSessionName)).toEqual([
      DEPLOYMENT.id,
      'b-later',
      DEPLOYMENT.id,
    ]);
  });

  it('drops a refused session too, once unused for an hour', async () => {
    // Given a session STS refused
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDenied' }))
      .callsFake(sessionCredentials);
    const credentials = subject();
    const refused = credentials.client(createEcsClient, { account: 'production' }, DEPLOYMENT);
    await failureOf(refused.config.credentials());

    // When the container serves other operations for an hour
    now = T0 + HOUR;
    await credentials.credentials('staging', { id: 'd-later', principal: 'ci-deployer' });

    // Then the refused session's entry is gone: its client is made again
    expect(credentials.client(createEcsClient, { account: 'production' }, DEPLOYMENT)).not.toBe(refused);
  });

  it('gives the container one instance', () => {
    expect(sharedAccountCredentials(ROLES)).toBe(sharedAccountCredentials(ROLES));
  });
});
