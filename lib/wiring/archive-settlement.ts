import { createEcsClient } from '../aws/clients/ecs';
import { createS3Client } from '../aws/clients/s3';
import { shared } from '../aws/shared-clients';
import { reconcileArchives } from '../backup/archive-settlement';
import type { Archives } from '../backup/archives';
import { archivesContext } from '../backup/archives-context';
import { audit } from './audit';
import { config } from './config';
import { publisher } from './notifications';
import { backupStore, restoreStore } from './stores';

let cached: Pick<Archives, 'reconcile'> | undefined;

/**
 * Following archive and dump jobs to their end: the worker tasks that stopped or ran past their limit
 * (ECS), and retention (S3); no launcher, as the reconciler starts no job.
 */
export function archiveSettlement(): Pick<Archives, 'reconcile'> {
  if (cached) return cached;
  const context = archivesContext({
    config: config(),
    store: backupStore(),
    restores: restoreStore(),
    s3: shared(createS3Client),
    ecs: shared(createEcsClient),
    publisher: publisher(),
    audit: audit(),
  });
  cached = { reconcile: () => reconcileArchives(context) };
  return cached;
}
