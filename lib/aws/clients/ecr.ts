import { ECRClient } from '@aws-sdk/client-ecr';
import { clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createEcrClient = (env?: Env) => new ECRClient(clientConfig('ecr', env));
