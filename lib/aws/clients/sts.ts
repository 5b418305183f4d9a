import { STSClient } from '@aws-sdk/client-sts';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createStsClient = (env?: Env, credentials?: Credentials) =>
  new STSClient(clientConfig('sts', env, credentials));
