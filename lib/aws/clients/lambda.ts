import { LambdaClient } from '@aws-sdk/client-lambda';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createLambdaClient = (env?: Env, credentials?: Credentials) =>
  new LambdaClient(clientConfig('lambda', env, credentials));
