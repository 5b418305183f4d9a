import * as z from 'zod/mini';
import type { Archives } from '../../lib/backup/archives';
import { NAME_PATTERN } from '../../lib/config/names';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { archiveJobs } from '../../lib/wiring/archives';
import { eventHandlerDeps } from '../../lib/wiring/events';

export interface TakeArchiveDeps extends EventHandlerDeps {
  archives: Pick<Archives, 'take'>;
}

/** Each volume's schedule passes `{volume}`; each dumped database's, `{database}`. */
export const archiveScheduleInput = z.union([
  z.strictObject({ volume: z.string().check(z.regex(NAME_PATTERN)) }),
  z.strictObject({ database: z.string().check(z.regex(NAME_PATTERN)) }),
]);

export function makeHandler(deps: TakeArchiveDeps) {
  return eventHandler({ name: 'takeArchive', schema: archiveScheduleInput }, deps, async (subject) => {
    const archive = await deps.archives.take(subject, 'schedule');
    logger.info('scheduled archive', {
      ...subject,
      backupId: archive.id,
      status: archive.status,
      reason: archive.reason,
    });
    return { backupId: archive.id, status: archive.status };
  });
}

function defaultDeps(): TakeArchiveDeps {
  return { archives: archiveJobs(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
