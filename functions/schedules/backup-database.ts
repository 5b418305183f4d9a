import * as z from 'zod/mini';
import type { Backups } from '../../lib/backup/backups';
import { NAME_PATTERN } from '../../lib/config/names';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { snapshotTaking } from '../../lib/wiring/backups';
import { eventHandlerDeps } from '../../lib/wiring/events';

export interface BackupDatabaseDeps extends EventHandlerDeps {
  backups: Pick<Backups, 'take'>;
}

/** Each database's schedule rule passes `{database}` as the event. */
export const backupScheduleInput = z.object({ database: z.string().check(z.regex(NAME_PATTERN)) });

export function makeHandler(deps: BackupDatabaseDeps) {
  return eventHandler({ name: 'backupDatabase', schema: backupScheduleInput }, deps, async ({ database }) => {
    const backup = await deps.backups.take(database, 'schedule');
    logger.info('scheduled backup', { database, backupId: backup.id, status: backup.status, reason: backup.reason });
    return { backupId: backup.id, status: backup.status };
  });
}

function defaultDeps(): BackupDatabaseDeps {
  return { backups: snapshotTaking(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
