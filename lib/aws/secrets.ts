import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { UpstreamFailed } from '../errors';
import { registerSecretValue } from '../observability';

/**
 * The one way Slipway reads a secret: its string value, as Secrets Manager holds it now, kept out of every
 * log line from then on. `what` names the secret in the error when it cannot be read ("the API tokens");
 * a secret that holds only binary, or nothing, has no string value. Which secret, and how long a value is
 * reused (CachedRead), is each caller's to say.
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
 * One read's result, reused for `maxAgeSeconds` however many callers ask at once (they share the read in
 * flight), and a failure answered again for a second rather than read again: a flood of requests with bad
 * credentials costs at most one read of a secret per period in a container, even while Secrets Manager
 * fails. The caller reads itself, `cached.current() ?? cached.keep(read())`, so what it reads stays its own.
 */
export class CachedRead<T> {
  private kept: { value: T; until: number } | undefined;
  private failed: { error: unknown; until: number } | undefined;
  private reading: Promise<T> | undefined;

  constructor(private readonly maxAgeSeconds: number) {}

  /** The fresh value, the read in flight or the failure held; undefined when a read is due. */
  current(): Promise<T> | undefined {
    const now = Date.now();
    if (this.kept && now < this.kept.until) return Promise.resolve(this.kept.value);
    if (this.failed && now < this.failed.until) return Promise.reject(this.failed.error);
    return this.reading;
  }

  /** Keeps what `reading` ends with from now on, and answers it. */
  keep(reading: Promise<T>): Promise<T> {
    this.reading = reading.then(
      (value) => {
        this.kept = { value, until: Date.now() + this.maxAgeSeconds * 1_000 };
        this.failed = undefined;
        this.reading = undefined;
        return value;
      },
      (error: unknown) => {
        this.failed = { error, until: Date.now() + FAILURE_HOLD_MS };
        this.reading = undefined;
        throw error;
      },
    );
    return this.reading;
  }
}
