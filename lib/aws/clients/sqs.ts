import { SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createSqsClient = (env?: Env) => new SQSClient(clientConfig('sqs', env));
