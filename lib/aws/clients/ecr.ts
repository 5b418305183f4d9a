import { ECRClient } from '@aws-sdk/client-ecr';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createEcrClient = (env?: Env, credentials?: Credentials) =>
  new ECRClient(clientConfig('ecr', env, credentials));
