import { createClient } from '../aws/clients';
import { regionFrom } from '../aws/endpoints';
import { clients, perRegion } from '../aws/traced-clients';
import { Archives } from '../backup/archives';
import { Backups } from '../backup/backups';
import { Restores } from '../restore/restores';
import { BackupStore, RestoreStore } from '../store/backups';
import { workerLauncher } from '../worker/launch';
import { runtime } from '.';
import { audit } from './audit';
import { publisher } from './deployments';

/** Snapshot copies live in another region. */
const rdsFor = perRegion(clients.rds, createClient.rds);
let cachedBackups: Backups | undefined;
let cachedRestores: Restores | undefined;
let cachedArchives: Archives | undefined;

export function backups(): Backups {
  const { env, config } = runtime();
  cachedBackups ??= new Backups({
    config,
    store: new BackupStore(clients.documents(), env.stateTable),
    rdsFor,
    region: regionFrom(),
    backupBucket: env.backupBucket,
    publisher: publisher(),
    audit: audit(),
  });
  return cachedBackups;
}

export function restores(): Restores {
  const { env, config } = runtime();
  cachedRestores ??= new Restores({
    config,
    store: new RestoreStore(clients.documents(), env.stateTable),
    backups: new BackupStore(clients.documents(), env.stateTable),
    rds: rdsFor(regionFrom()),
    region: regionFrom(),
    publisher: publisher(),
    audit: audit(),
  });
  return cachedRestores;
}

/**
 * Volume archives and dumps. WORKER_CLUSTER and WORKER_TASK_DEFINITION name the worker task
 * (resources/worker.yml); they are empty where the config has no worker section.
 */
export function archives(): Archives {
  const { env, config } = runtime();
  cachedArchives ??= new Archives({
    config,
    store: new BackupStore(clients.documents(), env.stateTable),
    restores: new RestoreStore(clients.documents(), env.stateTable),
    s3: clients.s3(),
    bucket: env.backupBucket,
    launcher: workerLauncher({
      ecs: clients.ecs,
      lambda: clients.lambda,
      service: SERVICE,
      stage: env.stage,
      task:
        config.worker && env.workerCluster && env.workerTaskDefinition
          ? {
              cluster: env.workerCluster,
              taskDefinition: env.workerTaskDefinition,
              network: config.worker,
            }
          : undefined,
    }),
    ecs: clients.ecs(),
    publisher: publisher(),
    audit: audit(),
  });
  return cachedArchives;
}

/** serverless.yml's `service`: the prefix of every function name. */
export const SERVICE = 'slipway';
