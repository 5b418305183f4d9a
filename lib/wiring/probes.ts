import type { Operation } from '../aws/account-credentials';
import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { regionFrom } from '../aws/endpoints';
import { CachedRead, readSecretString } from '../aws/secrets';
import { shared } from '../aws/shared-clients';
import { UpstreamFailed } from '../errors';
import type { ProbeOptions } from '../health/probe';
import type { ProbePublishing } from '../health/probe-metrics';
import { metrics, registerSecretValue } from '../observability';
import { cloudWatchFor } from './accounts';
import { config } from './config';

const HEADER_SECRET_MAX_AGE_SECONDS = 300;

const bySecret = new Map<string, CachedRead<string>>();

/** A probe header's value from Secrets Manager: the whole secret, or one key of a JSON secret; reused for 5 minutes. */
export async function secretHeaderValue(reference: { fromSecret: string; key?: string }): Promise<string> {
  const secretId = reference.fromSecret;
  let cached = bySecret.get(secretId);
  if (!cached) {
    cached = new CachedRead<string>(HEADER_SECRET_MAX_AGE_SECONDS);
    bySecret.set(secretId, cached);
  }
  const text = await (cached.current() ??
    cached.keep(
      readSecretString(shared(createSecretsManagerClient), secretId, `secret ${secretId} for a probe header`),
    ));
  if (!reference.key) return text;
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // The parser's message quotes the text, which is the secret: no cause is kept.
    throw new UpstreamFailed(`secret ${reference.fromSecret} is not JSON, so it has no key ${reference.key}`);
  }
  const value = (document as Record<string, unknown> | null)?.[reference.key];
  if (typeof value !== 'string' || value === '') {
    throw new UpstreamFailed(`secret ${reference.fromSecret} key ${reference.key} has no string value`);
  }
  // The whole secret is kept out of the logs already; a log line may quote this one value alone.
  registerSecretValue(value);
  return value;
}

/** How the probes of every environment run: config's concurrency, headers from Secrets Manager. */
export function probeOptions(): ProbeOptions {
  return { concurrency: config().probes.concurrency, resolveHeader: secretHeaderValue };
}

// One session per member account for every run: the probes act for no deployment and no person.
const PROBES: Operation = { id: 'slipway-probes', principal: 'slipway-probes' };

/**
 * Where the probes' metrics go: EMF through the shared instance at home, PutMetricData as the probes' session in a
 * member account, as the function itself in another region of its own account.
 */
export function probePublishing(): ProbePublishing {
  return {
    metrics,
    homeRegion: regionFrom(),
    cloudWatchIn: (place) => cloudWatchFor(place, PROBES),
    now: () => new Date(),
  };
}
