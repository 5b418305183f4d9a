import type { Deployments } from '../deploy/deployments';
import { environmentView, type Reader } from '../deploy/environment-view';
import { ecsFor } from './accounts';
import { config } from './config';
import { deploymentStore, environmentLocks, healthStore } from './stores';

let cached: Pick<Deployments, 'environment'> | undefined;

/** What an environment runs: its ECS service beside its deployments, read without the registry or notifications. */
export function environmentViews(): Pick<Deployments, 'environment'> {
  if (cached) return cached;
  const deps: Parameters<typeof environmentView>[0] = {
    config: config(),
    ecsFor,
    store: deploymentStore(),
    locks: environmentLocks(),
    health: healthStore(),
  };
  cached = { environment: (app: string, env: string, reader: Reader) => environmentView(deps, app, env, reader) };
  return cached;
}
