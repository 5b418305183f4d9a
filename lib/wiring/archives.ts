import { createEcsClient } from '../aws/clients/ecs';
import { createLambdaClient } from '../aws/clients/lambda';
import { createS3Client } from '../aws/clients/s3';
import { shared } from '../aws/shared-clients';
import { Archives } from '../backup/archives';
import { workerLauncher } from '../worker/launch';
import { audit } from './audit';
import { config } from './config';
import { environment } from './environment';
import { publisher } from './notifications';
import { backupStore, restoreStore } from './stores';

/** serverless.yml's `service`: the prefix of every function name. */
export const SERVICE = 'slipway';

let cached: Archives | undefined;

/**
 * Volume archives and dumps, taken and restored by the worker. WORKER_CLUSTER and WORKER_TASK_DEFINITION
 * name the worker task (resources/worker.yml); they are empty where the config has no worker section.
 */
export function archives(): Archives {
  if (cached) return cached;
  const settings = config();
  const env = environment();
  cached = new Archives({
    config: settings,
    store: backupStore(),
    restores: restoreStore(),
    s3: shared(createS3Client),
    bucket: env.backupBucket,
    launcher: workerLauncher({
      ecs: () => shared(createEcsClient),
      lambda: () => shared(createLambdaClient),
      service: SERVICE,
      stage: env.stage,
      task:
        settings.worker && env.workerCluster && env.workerTaskDefinition
          ? { cluster: env.workerCluster, taskDefinition: env.workerTaskDefinition, network: settings.worker }
          : undefined,
    }),
    ecs: shared(createEcsClient),
    publisher: publisher(),
    audit: audit(),
  });
  return cached;
}
