import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { isLoopbackHost } from '../net/addresses';
import { type Env, endpointFor, regionFrom, type ServiceId } from './endpoints';

/*
 * The settings every SDK client in Slipway is built with: region, adaptive retries and the endpoint
 * AWS_ENDPOINT_URL names. Each service's client is made in its own module (lib/aws/clients/), so a
 * function's bundle holds only the SDK clients its calls need.
 */

const MAX_ATTEMPTS = 5;

export interface BaseClientConfig {
  region: string;
  endpoint?: string;
  retryMode: 'adaptive';
  maxAttempts: number;
  credentials?: Credentials;
}

/** Credentials a client is given instead of the function's own: an assumed role's (lib/aws/account-credentials.ts). */
export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

// Emulators on this machine need no real credentials: dynalite and LocalStack take any,
// s3rver takes its documented S3RVER pair. Placeholders let them work where AWS has none.
const LOOPBACK_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function isLoopback(endpoint: string): boolean {
  try {
    return isLoopbackHost(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** The settings every SDK client in Slipway is built with; `credentials`, when given, instead of the function's own. */
export function clientConfig(service: ServiceId, env: Env = process.env, credentials?: Credentials): BaseClientConfig {
  const endpoint = endpointFor(service, env);
  return {
    region: regionFrom(env),
    retryMode: 'adaptive',
    maxAttempts: MAX_ATTEMPTS,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : endpoint && isLoopback(endpoint) ? { credentials: LOOPBACK_CREDENTIALS } : {}),
  };
}

// AWS's own S3 endpoints: public, FIPS and dual-stack, and interface endpoints (`*.vpce.amazonaws.com`).
const AWS_HOST = /(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/;

export function isAwsEndpoint(endpoint: string): boolean {
  try {
    return AWS_HOST.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

export function s3ClientConfig(env: Env = process.env, credentials?: Credentials) {
  const base = clientConfig('s3', env, credentials);
  if (!base.endpoint) return base;
  return {
    ...base,
    // AWS endpoints take virtual-hosted requests, an interface endpoint as `<bucket>.bucket.vpce-…` (Amazon S3
    // user guide, AWS PrivateLink for Amazon S3); other S3-compatible servers seldom resolve `<bucket>.<host>`.
    ...(isAwsEndpoint(base.endpoint) ? {} : { forcePathStyle: true }),
    // Only the emulators run here (s3rver) mangle the SDK's streamed checksums. Real S3 needs them: a put into an
    // Object Lock bucket without Content-MD5 or x-amz-checksum-* is refused (Amazon S3 API Reference, PutObject).
    ...(isLoopback(base.endpoint)
      ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
      : {}),
  };
}
