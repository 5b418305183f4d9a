import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { oidcVerifier } from '../auth/oidc';
import { type Credentials, localFileFirst, secretsManagerTokenSource, withOidc } from '../auth/token-source';
import { endpointFor, type ServiceId } from '../aws/endpoints';
import { clients } from '../aws/traced-clients';
import { loadStageConfig } from '../config/load';
import type { SlipwayConfig } from '../config/schema';
import { localTokensFile, type RuntimeEnvironment, readEnvironment } from './environment';

/**
 * The shared pieces every default handler is built from, made once per container.
 * A bad config or a missing variable fails the cold start, loudly.
 */
export interface Runtime {
  env: RuntimeEnvironment;
  config: SlipwayConfig;
  /** The tokens secret's entries, and the verifier of auth.oidc's issuers when there are any. */
  tokens: Credentials;
  /** On this machine, the file whose tokens win over Secrets Manager whenever it exists. */
  tokensFile: string | undefined;
}

let cached: Runtime | undefined;

export function runtime(): Runtime {
  if (cached) return cached;
  const env = readEnvironment();
  const config = loadStageConfig(env.stage);
  const tokensFile = localTokensFile(env);
  const fromSecret = secretsManagerTokenSource(
    clients.secretsManager(),
    config.auth.tokensSecret,
    config.auth.tokenCacheSeconds,
  );
  const stored = tokensFile ? localFileFirst(tokensFile, fromSecret) : fromSecret;
  // One verifier per container: discovery documents and signing keys are cached in it.
  const oidc = config.auth.oidc?.length ? oidcVerifier(config.auth.oidc) : undefined;
  cached = { env, config, tokens: withOidc(stored, oidc), tokensFile };
  return cached;
}

const CREDENTIALS_TIMEOUT_MS = 1_000;

/**
 * On this machine a service with neither an endpoint nor credentials cannot be
 * reached at all; readiness reports it as skipped rather than failing.
 */
export function unreachableLocally(
  env: Pick<RuntimeEnvironment, 'offline'>,
  service: ServiceId,
  credentials: AwsCredentialIdentityProvider,
): () => Promise<string | undefined> {
  let verdict: Promise<string | undefined> | undefined;
  return () => {
    if (!env.offline || endpointFor(service)) return Promise.resolve(undefined);
    verdict ??= Promise.race([
      credentials().then(
        () => undefined,
        () => `no endpoint (AWS_ENDPOINT_URL) and no AWS credentials on this machine`,
      ),
      new Promise<string>((resolve) =>
        setTimeout(
          () => resolve('no endpoint and no AWS credentials answered in time'),
          CREDENTIALS_TIMEOUT_MS,
        ).unref(),
      ),
    ]);
    return verdict;
  };
}
