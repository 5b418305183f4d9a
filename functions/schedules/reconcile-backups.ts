import type { Archives } from '../../lib/backup/archives';
import type { Backups } from '../../lib/backup/backups';
import { type EventHandlerDeps, eventHandler, scheduledEventSchema } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import type { Restores } from '../../lib/restore/restores';
import { archiveSettlement } from '../../lib/wiring/archive-settlement';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { restoreReconciler, snapshotReconciler } from '../../lib/wiring/vault';

export interface ReconcileBackupsDeps extends EventHandlerDeps {
  backups: Pick<Backups, 'reconcile'>;
  restores: Pick<Restores, 'reconcile'>;
  archives: Pick<Archives, 'reconcile'>;
}

/**
 * Every 5 minutes: snapshots, copies, exports, restores and drills whose events were lost or never
 * sent; archive and dump jobs whose worker died; retention and backup ages of every subject.
 */
export function makeHandler(deps: ReconcileBackupsDeps) {
  return eventHandler({ name: 'reconcileBackups', schema: scheduledEventSchema }, deps, async () => {
    const backupOutcomes = await deps.backups.reconcile();
    const restoreOutcomes = await deps.restores.reconcile();
    const archiveOutcomes = await deps.archives.reconcile();
    logger.info('backups and restores reconciled', {
      backups: backupOutcomes,
      restores: restoreOutcomes,
      archives: archiveOutcomes,
    });
    return { backups: backupOutcomes, restores: restoreOutcomes, archives: archiveOutcomes };
  });
}

function defaultDeps(): ReconcileBackupsDeps {
  return {
    backups: snapshotReconciler(),
    restores: restoreReconciler(),
    archives: archiveSettlement(),
    ...eventHandlerDeps(),
  };
}

export const handler = makeHandler(defaultDeps());
