import { clients } from '../../lib/aws/clients';
import { sqsDeadLetters } from '../../lib/events/dead-letter';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import type { Restores } from '../../lib/restore/restores';
import { runtime } from '../../lib/runtime';
import { restores } from '../../lib/runtime/backups';
import { backupScheduleInput } from './backup-database';

export interface RestoreDrillDeps extends EventHandlerDeps {
  restores: Pick<Restores, 'drill'>;
}

/** On the database's restoreDrill.schedule: the newest snapshot into a scratch instance; the reconciler checks and deletes it. */
export function makeHandler(deps: RestoreDrillDeps) {
  return eventHandler({ name: 'restoreDrill', schema: backupScheduleInput }, deps, async ({ database }) => {
    const drill = await deps.restores.drill(database);
    logger.info('restore drill started', { database, restoreId: drill.id, target: drill.targetIdentifier });
    return { restoreId: drill.id, target: drill.targetIdentifier };
  });
}

function defaultDeps(): RestoreDrillDeps {
  return { restores: restores(), deadLetters: sqsDeadLetters(clients.sqs(), runtime().env.deadLetterQueueUrl) };
}

export const handler = makeHandler(defaultDeps());
