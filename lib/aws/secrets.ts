import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { UpstreamFailed } from '../errors';
import { registerSecretValue } from '../observability';

/**
 * The one way Slipway reads a secret: its string value, as Secrets Manager holds it now, kept out of every
 * log line from then on. `what` names the secret in the error when it cannot be read ("the API tokens");
 * a secret that holds only binary, or nothing, has no string value. Which secret, and how long a value is
 * reused (cachedFor, cachedByKey), is each caller's to say.
 */
export async function readSecretString(client: SecretsManagerClient, secretId: string, what: string): Promise<string> {
  let value: string | undefined;
  try {
    ({ SecretString: value } = await client.send(new GetSecretValueCommand({ SecretId: secretId })));
  } catch (error) {
    throw new UpstreamFailed(`cannot read ${what} from Secrets Manager`, { cause: error });
  }
  if (typeof value !== 'string' || value === '') throw new UpstreamFailed(`secret ${secretId} has no string value`);
  registerSecretValue(value);
  return value;
}

// After a failed read, the same failure is answered for this long before Secrets Manager is asked again.
const FAILURE_HOLD_MS = 1_000;

/**
 * `read`, answered from one result for `maxAgeSeconds` however many callers ask at once, and a failure
 * answered again for a second rather than read again: a flood of requests with bad credentials costs
 * at most one read of the secret per period in a container, even while Secrets Manager fails.
 */
export function cachedFor<T>(read: () => Promise<T>, maxAgeSeconds: number): () => Promise<T> {
  let kept: { value: T; until: number } | undefined;
  let failed: { error: unknown; until: number } | undefined;
  let reading: Promise<T> | undefined;
  return () => {
    const now = Date.now();
    if (kept && now < kept.until) return Promise.resolve(kept.value);
    if (failed && now < failed.until) return Promise.reject(failed.error);
    reading ??= read().then(
      (value) => {
        kept = { value, until: Date.now() + maxAgeSeconds * 1_000 };
        failed = undefined;
        reading = undefined;
        return value;
      },
      (error: unknown) => {
        failed = { error, until: Date.now() + FAILURE_HOLD_MS };
        reading = undefined;
        throw error;
      },
    );
    return reading;
  };
}

/** cachedFor, for each key on its own: several secrets read by one caller (probe headers). */
export function cachedByKey<T>(read: (key: string) => Promise<T>, maxAgeSeconds: number): (key: string) => Promise<T> {
  const byKey = new Map<string, () => Promise<T>>();
  return (key) => {
    let cached = byKey.get(key);
    if (!cached) {
      cached = cachedFor(() => read(key), maxAgeSeconds);
      byKey.set(key, cached);
    }
    return cached();
  };
}
