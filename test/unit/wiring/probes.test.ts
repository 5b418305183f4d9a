import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { UpstreamFailed } from '../../../lib/errors';
import { REDACTED, redact } from '../../../lib/observability';
import { secretHeaderValue } from '../../../lib/wiring/probes';

const secretsMock = mockClient(SecretsManagerClient);

beforeEach(() => {
  secretsMock.reset();
});

describe('a probe header from Secrets Manager', () => {
  it('is the whole secret, read once for however many probes ask within 5 minutes', async () => {
    // Given a secret holding a bearer token for a health endpoint
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'probe-bearer-0f3c9a1e77' });

    // When three probes ask for it at once
    const values = await Promise.all([1, 2, 3].map(() => secretHeaderValue({ fromSecret: 'shop/probe-whole' })));

    // Then one read answered them all
    expect(values).toEqual(['probe-bearer-0f3c9a1e77', 'probe-bearer-0f3c9a1e77', 'probe-bearer-0f3c9a1e77']);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'shop/probe-whole' });
  });

  it('is one key of a JSON secret, kept out of logs on its own', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ apiKey: 'key-7d1e55b0c4', other: 'x' }) });

    const value = await secretHeaderValue({ fromSecret: 'shop/probe-json', key: 'apiKey' });

    expect(value).toBe('key-7d1e55b0c4');
    expect(redact('x-api-key: key-7d1e55b0c4')).toBe(`x-api-key: ${REDACTED}`);
  });

  it('fails, quoting nothing of the secret, when a key is asked of a secret that is not JSON', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'not-json-3b8e0c' });

    const failure = await secretHeaderValue({ fromSecret: 'shop/probe-text', key: 'apiKey' }).catch((e) => e);

    expect(failure).toEqual(new UpstreamFailed('secret shop/probe-text is not JSON, so it has no key apiKey'));
    expect((failure as Error).cause).toBeUndefined();
  });

  it('fails naming the secret and key when the key holds no string', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 42 }) });

    const failure = await secretHeaderValue({ fromSecret: 'shop/probe-number', key: 'apiKey' }).catch((e) => e);

    expect(failure).toEqual(new UpstreamFailed('secret shop/probe-number key apiKey has no string value'));
  });

  it('fails naming the secret when Secrets Manager cannot read it', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

    const failure = await secretHeaderValue({ fromSecret: 'shop/probe-denied' }).catch((e) => e);

    expect(failure).toEqual(
      new UpstreamFailed('cannot read secret shop/probe-denied for a probe header from Secrets Manager'),
    );
  });
});
