import { createDocumentClient } from '../aws/clients/dynamodb';
import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { CachedRead, readSecretString } from '../aws/secrets';
import { shared } from '../aws/shared-clients';
import { Releases } from '../release/releases';
import { DeliveryStore } from '../store/deliveries';
import { ReleaseStore } from '../store/releases';
import { ecrFor, ecsFor } from './accounts';
import { audit } from './audit';
import { config } from './config';
import { deploymentRequests } from './deployments';
import { environment } from './environment';
import { idempotency } from './idempotency';
import { publisher } from './notifications';

let cached: Releases | undefined;

/** The release use case, built once per container from the same pieces as the deploy routes. */
export function releases(): Releases {
  cached ??= new Releases({
    config: config(),
    deployments: deploymentRequests(),
    store: new ReleaseStore(shared(createDocumentClient), environment().stateTable),
    ecsFor,
    ecrFor,
    idempotency: idempotency(),
    publisher: publisher(),
    audit: audit(),
  });
  return cached;
}

/** Registry webhook deliveries already received, on the state table. */
export function deliveries(): DeliveryStore {
  return new DeliveryStore(shared(createDocumentClient), environment().stateTable);
}

/**
 * The HMAC key registry webhooks are signed with, read from Secrets Manager and reused for a minute,
 * however many deliveries (signed or not) ask for it meanwhile.
 */
export function webhookSecret(secretId: string, maxAgeSeconds = 60): () => Promise<string> {
  const client = shared(createSecretsManagerClient);
  const cached = new CachedRead<string>(maxAgeSeconds);
  return () => cached.current() ?? cached.keep(readSecretString(client, secretId, 'the webhook secret'));
}
