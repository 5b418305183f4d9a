import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { CachedRead, readSecretString } from '../../../lib/aws/secrets';
import { UpstreamFailed } from '../../../lib/errors';
import { REDACTED, redact } from '../../../lib/observability';

const secretsMock = mockClient(SecretsManagerClient);
const client = () => new SecretsManagerClient({ region: 'us-east-1' });

beforeEach(() => {
  secretsMock.reset();
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('readSecretString', () => {
  it('answers the string value of the secret named, and keeps it out of logs from then on', async () => {
    // Given a secret holding a string (Secrets Manager API Reference, GetSecretValue: SecretString)
    const value = 'https://hooks.slack.example/services/T0/B0/read-secret-test';
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: value });

    // When it is read
    const read = await readSecretString(client(), 'slipway/slack', 'the Slack webhook URL');

    // Then the value is answered, asked for by name, and redacted wherever a log line quotes it
    expect(read).toBe(value);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'slipway/slack' });
    expect(redact(`posting to ${value}`)).toBe(`posting to ${REDACTED}`);
  });

  it('fails as UpstreamFailed naming what it read, with the cause, when Secrets Manager refuses', async () => {
    const denied = Object.assign(new Error('not authorized to perform secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    secretsMock.on(GetSecretValueCommand).rejects(denied);

    const failure = await readSecretString(client(), 'slipway/hmac', 'the webhook secret').catch((e: unknown) => e);

    expect(failure).toEqual(new UpstreamFailed('cannot read the webhook secret from Secrets Manager'));
    expect((failure as Error).cause).toBe(denied);
  });

  it.each([
    ['only binary', { SecretBinary: new Uint8Array([1, 2, 3]) }],
    ['an empty string', { SecretString: '' }],
    ['nothing', {}],
  ])('fails as UpstreamFailed when the secret holds %s', async (_what, answer) => {
    secretsMock.on(GetSecretValueCommand).resolves(answer);

    const failure = await readSecretString(client(), 'slipway/tokens', 'the API tokens').catch((e: unknown) => e);

    expect(failure).toEqual(new UpstreamFailed('secret slipway/tokens has no string value'));
  });
});

describe('CachedRead', () => {
  const deferred = () => {
    let resolve: (value: string) => void = () => undefined;
    let reject: (error: unknown) => void = () => undefined;
    const promise = new Promise<string>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    return { promise, resolve, reject };
  };

  it('shares the read in flight, then answers its value until maxAgeSeconds have passed', async () => {
    // Given a cache of 60 seconds and a read that has not answered yet
    const start = Date.now();
    const now = jest.spyOn(Date, 'now').mockReturnValue(start);
    const cached = new CachedRead<string>(60);
    const first = deferred();
    expect(cached.current()).toBeUndefined();
    const asked = cached.keep(first.promise);

    // When others ask while it runs, and after it answered
    const meanwhile = cached.current();
    first.resolve('v1');

    // Then they share it, and the value is answered until the minute is over
    expect(await asked).toBe('v1');
    expect(await meanwhile).toBe('v1');
    now.mockReturnValue(start + 59_999);
    expect(await cached.current()).toBe('v1');
    now.mockReturnValue(start + 60_001);
    expect(cached.current()).toBeUndefined();
  });

  it('answers a failure again for a second, then asks for a read', async () => {
    const start = Date.now();
    const now = jest.spyOn(Date, 'now').mockReturnValue(start);
    const cached = new CachedRead<string>(60);
    const failing = new UpstreamFailed('cannot read the API tokens from Secrets Manager');

    await expect(cached.keep(Promise.reject(failing))).rejects.toBe(failing);

    now.mockReturnValue(start + 999);
    await expect(cached.current()).rejects.toBe(failing);
    now.mockReturnValue(start + 1_001);
    expect(cached.current()).toBeUndefined();
  });
});
