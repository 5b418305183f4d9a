import { RDSClient } from '@aws-sdk/client-rds';
import { clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createRdsClient = (env?: Env) => new RDSClient(clientConfig('rds', env));
