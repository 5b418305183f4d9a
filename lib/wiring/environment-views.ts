import { createEcsClient } from '../aws/clients/ecs';
import { shared } from '../aws/shared-clients';
import type { Deployments } from '../deploy/deployments';
import { environmentView } from '../deploy/environment-view';
import { config } from './config';
import { deploymentStore, environmentLocks } from './stores';

let cached: Pick<Deployments, 'environment'> | undefined;

/** What an environment runs: its ECS service beside its deployments, read without the registry or notifications. */
export function environmentViews(): Pick<Deployments, 'environment'> {
  if (cached) return cached;
  const deps = { config: config(), ecs: shared(createEcsClient), store: deploymentStore(), locks: environmentLocks() };
  cached = { environment: (app: string, env: string) => environmentView(deps, app, env) };
  return cached;
}
