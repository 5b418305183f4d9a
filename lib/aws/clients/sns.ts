import { SNSClient } from '@aws-sdk/client-sns';
import { clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createSnsClient = (env?: Env) => new SNSClient(clientConfig('sns', env));
