import * as z from 'zod/mini';
import type { Archives } from '../../lib/backup/archives';
import { NAME_PATTERN } from '../../lib/config/names';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import type { Restores } from '../../lib/restore/restores';
import { archiveJobs } from '../../lib/wiring/archives';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { restoreRequests } from '../../lib/wiring/restores';

export interface RestoreDrillDeps extends EventHandlerDeps {
  restores: Pick<Restores, 'drill'>;
  archives: Pick<Archives, 'drill'>;
}

/** `{database}`: an RDS drill; `{database, dump: true}`: a dump drill; `{volume}`: a volume drill. */
export const drillScheduleInput = z.union([
  z.strictObject({ database: z.string().check(z.regex(NAME_PATTERN)), dump: z.optional(z.literal(true)) }),
  z.strictObject({ volume: z.string().check(z.regex(NAME_PATTERN)) }),
]);

/**
 * On each drill schedule: an RDS snapshot into a scratch instance (the reconciler checks and
 * deletes it), or an archive or dump into scratch by the worker, which verifies and removes it.
 */
export function makeHandler(deps: RestoreDrillDeps) {
  return eventHandler({ name: 'restoreDrill', schema: drillScheduleInput }, deps, async (input) => {
    if ('volume' in input || input.dump) {
      const subject = 'volume' in input ? { volume: input.volume } : { database: input.database };
      const drill = await deps.archives.drill(subject);
      logger.info('archive restore drill started', { ...subject, restoreId: drill.id });
      return { restoreId: drill.id, target: drill.target };
    }
    const drill = await deps.restores.drill(input.database);
    logger.info('restore drill started', {
      database: input.database,
      restoreId: drill.id,
      target: drill.targetIdentifier,
    });
    return { restoreId: drill.id, target: drill.targetIdentifier };
  });
}

function defaultDeps(): RestoreDrillDeps {
  return {
    restores: restoreRequests(),
    archives: archiveJobs(),
    ...eventHandlerDeps(),
  };
}

export const handler = makeHandler(defaultDeps());
