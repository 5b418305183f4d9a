import type { Deployments } from '../deploy/deployments';
import { deploymentsContext } from '../deploy/deployments-context';
import { getDeployment } from '../deploy/queries';
import type { Requester } from '../deploy/records';
import { cancelDeployment } from '../deploy/requests';
import { publisher } from './notifications';
import { deploymentStore, environmentLocks } from './stores';

let cached: Pick<Deployments, 'get' | 'cancel'> | undefined;

/** Cancelling a deployment that waits for approval: its record, its lock and a notification; nothing on ECS. */
export function deploymentCancellations(): Pick<Deployments, 'get' | 'cancel'> {
  if (cached) return cached;
  const context = deploymentsContext({ store: deploymentStore(), locks: environmentLocks(), publisher: publisher() });
  cached = {
    get: (id: string) => getDeployment(context.deps, id),
    cancel: (id: string, by: Requester) => cancelDeployment(context, id, by),
  };
  return cached;
}
