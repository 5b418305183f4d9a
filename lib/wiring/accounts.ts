import { type AccountCredentials, sharedAccountCredentials } from '../aws/account-credentials';
import { createEcrClient } from '../aws/clients/ecr';
import { createEcsClient } from '../aws/clients/ecs';
import { shared } from '../aws/shared-clients';
import type { EcrFor, EcsFor } from '../deploy/deployments-context';
import { config } from './config';

/** The container's sessions on the roles of the accounts config names. */
export function accountCredentials(): AccountCredentials {
  return sharedAccountCredentials(config().accounts);
}

/** ECS where an environment's service is: the shared client at home, the operation's session in another account. */
export const ecsFor: EcsFor = (place, operation) => accountCredentials().client(createEcsClient, place, operation);

/** ECR in a repository's region: the shared client, or the operation's session in the repository's account. */
export const ecrFor: EcrFor = (region, session) =>
  session
    ? accountCredentials().client(createEcrClient, { account: session.account, region }, session.operation)
    : shared(createEcrClient, region);
