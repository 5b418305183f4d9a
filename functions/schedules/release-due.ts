import { type EventHandlerDeps, eventHandler, scheduledEventSchema } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import type { Releases } from '../../lib/release/releases';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { releases } from '../../lib/wiring/releases';

export interface ReleaseDueDeps extends EventHandlerDeps {
  releases: Pick<Releases, 'releaseDue'>;
}

/** Every minute: releases whose soak time is over, whose environment is free again, or whose scan never came. */
export function makeHandler(deps: ReleaseDueDeps) {
  return eventHandler({ name: 'releaseDue', schema: scheduledEventSchema }, deps, async () => {
    const released = await deps.releases.releaseDue();
    logger.info('waiting releases settled', { count: released.length, released });
    return { released };
  });
}

function defaultDeps(): ReleaseDueDeps {
  return { releases: releases(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
