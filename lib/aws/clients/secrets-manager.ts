import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createSecretsManagerClient = (env?: Env) => new SecretsManagerClient(clientConfig('secretsmanager', env));
