import { createEcsClient } from '../aws/clients/ecs';
import { createLambdaClient } from '../aws/clients/lambda';
import { shared } from '../aws/shared-clients';
import { type ArchiveRestoreRequest, drillArchive, restoreArchive, takeArchive } from '../backup/archive-jobs';
import type { ArchiveSubject } from '../backup/archive-retention';
import type { Archives } from '../backup/archives';
import { archivesContext } from '../backup/archives-context';
import { workerLauncher } from '../worker/launch';
import { audit } from './audit';
import { config } from './config';
import { environment } from './environment';
import { publisher } from './notifications';
import { backupStore, restoreStore } from './stores';

/** serverless.yml's `service`: the prefix of every function name. */
export const SERVICE = 'slipway';

let cached: Pick<Archives, 'take' | 'restore' | 'drill'> | undefined;

/**
 * Starting volume archives, dumps, their restores and drills: the worker, launched where the data can be
 * reached; no S3 (the worker writes and reads the objects). WORKER_CLUSTER and WORKER_TASK_DEFINITION name
 * the worker task (resources/worker.yml); they are empty where the config has no worker section.
 */
export function archiveJobs(): Pick<Archives, 'take' | 'restore' | 'drill'> {
  if (cached) return cached;
  const settings = config();
  const env = environment();
  const context = archivesContext({
    config: settings,
    store: backupStore(),
    restores: restoreStore(),
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
    publisher: publisher(),
    audit: audit(),
  });
  cached = {
    take: (subject: ArchiveSubject, trigger: string) => takeArchive(context, subject, trigger),
    restore: (request: ArchiveRestoreRequest) => restoreArchive(context, request),
    drill: (subject: ArchiveSubject) => drillArchive(context, subject),
  };
  return cached;
}
