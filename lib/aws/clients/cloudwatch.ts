import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createCloudWatchClient = (env?: Env, credentials?: Credentials) =>
  new CloudWatchClient(clientConfig('cloudwatch', env, credentials));
