import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createSecretsManagerClient = (env?: Env, credentials?: Credentials) =>
  new SecretsManagerClient(clientConfig('secretsmanager', env, credentials));
