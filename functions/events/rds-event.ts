import * as z from 'zod/mini';
import type { Backups } from '../../lib/backup/backups';
import { rdsSnapshotEvent } from '../../lib/backup/rds-events';
import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import type { Restores } from '../../lib/restore/restores';
import { controlPlaneHome } from '../../lib/wiring/accounts';
import { snapshotEvents } from '../../lib/wiring/backups';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { restoreSettlement } from '../../lib/wiring/restores';

export interface RdsEventDeps extends EventHandlerDeps {
  backups: Pick<Backups, 'onSnapshotEvent'>;
  restores: Pick<Restores, 'onTargetEvent'>;
}

/** An RDS instance or cluster event: perhaps a restore target that became available or failed. */
const rdsResourceEvent = z.object({
  id: z.string().check(z.minLength(1)),
  source: z.literal('aws.rds'),
  'detail-type': z.enum(['RDS DB Instance Event', 'RDS DB Cluster Event']),
  account: z.string(),
  region: z.string().check(z.minLength(1)),
  detail: z.object({
    SourceIdentifier: z.string().check(z.minLength(1)),
    EventID: z.optional(z.string()),
    Message: z.optional(z.string()),
  }),
});

export const rdsEvent = z.union([rdsSnapshotEvent, rdsResourceEvent]);

/** RDS events (best effort): snapshots Slipway made completing, restore targets changing state. */
export function makeHandler(deps: RdsEventDeps) {
  return eventHandler({ name: 'rdsEvent', schema: rdsEvent }, deps, async (event, context) => {
    // Taken only from the account and region of the database it names (or of the restore's target).
    const home = controlPlaneHome(context?.invokedFunctionArn);
    if (event['detail-type'] === 'RDS DB Snapshot Event' || event['detail-type'] === 'RDS DB Cluster Snapshot Event') {
      const outcome = await deps.backups.onSnapshotEvent(event as z.output<typeof rdsSnapshotEvent>, home);
      logger.info('snapshot event', { eventId: event.id, source: event.detail.SourceIdentifier, ...outcome });
      return outcome;
    }
    const { id, account, region } = event;
    const outcome = await deps.restores.onTargetEvent(
      { id, account, region, identifier: event.detail.SourceIdentifier },
      home,
    );
    logger.info('instance event', { eventId: event.id, source: event.detail.SourceIdentifier, outcome });
    return { applied: !outcome.startsWith('not '), reason: outcome };
  });
}

function defaultDeps(): RdsEventDeps {
  return {
    backups: snapshotEvents(),
    restores: restoreSettlement(),
    ...eventHandlerDeps(),
  };
}

export const handler = makeHandler(defaultDeps());
