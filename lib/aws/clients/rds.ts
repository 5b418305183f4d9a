import { RDSClient } from '@aws-sdk/client-rds';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createRdsClient = (env?: Env, credentials?: Credentials) =>
  new RDSClient(clientConfig('rds', env, credentials));
