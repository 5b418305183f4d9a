import { oidcVerifier } from '../auth/oidc';
import { type Credentials, localFileFirst, secretsManagerTokenSource, withOidc } from '../auth/token-source';
import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { shared } from '../aws/shared-clients';
import { config } from './config';
import { environment, localTokensFile } from './environment';

let cached: Credentials | undefined;

/**
 * What a route that is not public checks callers against, made once per container: the tokens secret's
 * entries (on this machine, the local tokens file whenever it exists), and the verifier of auth.oidc's
 * issuers when there are any, whose discovery documents and signing keys are cached in it.
 */
export function tokens(): Credentials {
  if (cached) return cached;
  const { auth } = config();
  const fromSecret = secretsManagerTokenSource(
    shared(createSecretsManagerClient),
    auth.tokensSecret,
    auth.tokenCacheSeconds,
  );
  const file = localTokensFile(environment());
  const stored = file ? localFileFirst(file, fromSecret) : fromSecret;
  cached = withOidc(stored, auth.oidc?.length ? oidcVerifier(auth.oidc) : undefined);
  return cached;
}
