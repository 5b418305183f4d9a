import { existsSync } from 'node:fs';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { createDynamoDbClient } from '../aws/clients/dynamodb';
import { createEcsClient } from '../aws/clients/ecs';
import { createS3Client } from '../aws/clients/s3';
import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { endpointFor, type ServiceId } from '../aws/endpoints';
import { shared } from '../aws/shared-clients';
import { backupBucketCheck, ecsCheck, secretsManagerCheck, stateTableCheck } from '../health/dependency-checks';
import type { DependencyCheck } from '../health/readiness';
import { config } from './config';
import { environment, type FunctionEnvironment, localTokensFile } from './environment';

const CREDENTIALS_TIMEOUT_MS = 1_000;

/**
 * On this machine a service with neither an endpoint nor credentials cannot be
 * reached at all; readiness reports it as skipped rather than failing.
 */
export function unreachableLocally(
  env: Pick<FunctionEnvironment, 'offline'>,
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

/** The control plane's own dependencies, as readiness checks them: the state table, the bucket, the tokens secret, ECS. */
export function readinessChecks(): DependencyCheck[] {
  const env = environment();
  const secrets = shared(createSecretsManagerClient);
  const ecs = shared(createEcsClient);
  const tokensFile = localTokensFile(env);
  const unreachable = unreachableLocally(env, 'secretsmanager', secrets.config.credentials);
  const secretsSkip = async () =>
    tokensFile && existsSync(tokensFile) ? `API tokens are read from ${tokensFile} on this machine` : unreachable();
  return [
    stateTableCheck(shared(createDynamoDbClient), env.stateTable),
    backupBucketCheck(shared(createS3Client), env.backupBucket),
    secretsManagerCheck(secrets, config().auth.tokensSecret, secretsSkip),
    ecsCheck(ecs, unreachableLocally(env, 'ecs', ecs.config.credentials)),
  ];
}
