import { ECSClient } from '@aws-sdk/client-ecs';
import { clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createEcsClient = (env?: Env) => new ECSClient(clientConfig('ecs', env));
