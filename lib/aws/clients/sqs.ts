import { SQSClient } from '@aws-sdk/client-sqs';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createSqsClient = (env?: Env, credentials?: Credentials) =>
  new SQSClient(clientConfig('sqs', env, credentials));
