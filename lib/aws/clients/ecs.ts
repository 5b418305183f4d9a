import { ECSClient } from '@aws-sdk/client-ecs';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createEcsClient = (env?: Env, credentials?: Credentials) =>
  new ECSClient(clientConfig('ecs', env, credentials));
