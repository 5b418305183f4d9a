import { SNSClient } from '@aws-sdk/client-sns';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createSnsClient = (env?: Env, credentials?: Credentials) =>
  new SNSClient(clientConfig('sns', env, credentials));
