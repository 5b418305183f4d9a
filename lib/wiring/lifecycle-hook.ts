import { createDocumentClient } from '../aws/clients/dynamodb';
import { shared } from '../aws/shared-clients';
import { LifecycleHook } from '../health/lifecycle-hook';
import { probeAll } from '../health/probe';
import { config } from './config';
import { environment } from './environment';
import { probeOptions } from './probes';

let cached: LifecycleHook | undefined;

/** What an ECS blue/green lifecycle hook runs on: the checks of the stage, its progress on the state table. */
export function lifecycleHook(): LifecycleHook {
  cached ??= new LifecycleHook({
    config: config(),
    documents: shared(createDocumentClient),
    tableName: environment().stateTable,
    probe: probeAll,
    probeOptions: probeOptions(),
  });
  return cached;
}
