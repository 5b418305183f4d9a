import { KMSClient } from '@aws-sdk/client-kms';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createKmsClient = (env?: Env, credentials?: Credentials) =>
  new KMSClient(clientConfig('kms', env, credentials));
