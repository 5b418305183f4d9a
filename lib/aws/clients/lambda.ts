import { LambdaClient } from '@aws-sdk/client-lambda';
import { clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createLambdaClient = (env?: Env) => new LambdaClient(clientConfig('lambda', env));
