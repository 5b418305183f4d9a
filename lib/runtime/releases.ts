import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { cachedFor } from '../auth/token-source';
import { clients } from '../aws/traced-clients';
import { UpstreamFailed } from '../errors';
import { registerSecretValue } from '../observability';
import { Releases } from '../release/releases';
import { DeliveryStore } from '../store/deliveries';
import { ReleaseStore } from '../store/releases';
import { runtime } from '.';
import { audit } from './audit';
import { deployments, ecrFor, idempotency, publisher } from './deployments';

let cached: Releases | undefined;

/** The release use case, built once per container from the same pieces as the deploy routes. */
export function releases(): Releases {
  if (cached) return cached;
  const { env, config } = runtime();
  cached = new Releases({
    config,
    deployments: deployments(),
    store: new ReleaseStore(clients.documents(), env.stateTable),
    ecs: clients.ecs(),
    ecrFor,
    idempotency: idempotency(),
    publisher: publisher(),
    audit: audit(),
  });
  return cached;
}

/** Registry webhook deliveries already received, on the state table. */
export function deliveries(): DeliveryStore {
  return new DeliveryStore(clients.documents(), runtime().env.stateTable);
}

/**
 * The HMAC key registry webhooks are signed with, read from Secrets Manager and reused for a minute,
 * however many deliveries (signed or not) ask for it meanwhile.
 */
export function webhookSecret(secretId: string, maxAgeSeconds = 60): () => Promise<string> {
  const provider = new SecretsProvider({ awsSdkV3Client: clients.secretsManager() });
  return cachedFor(async () => {
    let value: string | Uint8Array | undefined;
    try {
      value = await provider.get(secretId, { forceFetch: true });
    } catch (error) {
      throw new UpstreamFailed('cannot read the webhook secret from Secrets Manager', { cause: error });
    }
    if (typeof value !== 'string' || value.length === 0) {
      throw new UpstreamFailed(`secret ${secretId} has no string value`);
    }
    registerSecretValue(value);
    return value;
  }, maxAgeSeconds);
}
