import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import {
  type AccountCredentials,
  type Operation,
  type Place,
  sharedAccountCredentials,
} from '../aws/account-credentials';
import { createCloudWatchClient } from '../aws/clients/cloudwatch';
import { createEcrClient } from '../aws/clients/ecr';
import { createEcsClient } from '../aws/clients/ecs';
import { regionFrom } from '../aws/endpoints';
import { shared } from '../aws/shared-clients';
import { type Home, homeOf } from '../config/places';
import { config } from './config';

/** The container's sessions on the roles of the accounts config names. */
export function accountCredentials(): AccountCredentials {
  return sharedAccountCredentials(config().accounts);
}

// Typed by their parameters, not as EcsFor/EcrFor: the call graph of the IAM proof follows a function value to
// its own declaration.

/** ECS where an environment's service is: the shared client at home, the operation's session in another account. */
export const ecsFor = (place: Place, operation: Operation): ECSClient =>
  accountCredentials().client(createEcsClient, place, operation);

/** ECR in a repository's region: the shared client, or the operation's session in the repository's account. */
export const ecrFor = (region: string, session?: { account: string; operation: Operation }): ECRClient =>
  session
    ? accountCredentials().client(createEcrClient, { account: session.account, region }, session.operation)
    : shared(createEcrClient, region);

/** The control plane's own account (from the function's ARN, where Lambda gives one) and region. */
export function controlPlaneHome(invokedFunctionArn: string | undefined): Home {
  return homeOf(invokedFunctionArn, regionFrom());
}

/** CloudWatch where an environment's health metrics go: the shared client at home, the operation's session in another account. */
export const cloudWatchFor = (place: Place, operation: Operation): CloudWatchClient =>
  accountCredentials().client(createCloudWatchClient, place, operation);
