import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import type { AlarmResponder } from '../../lib/health/alarm-responder';
import { alarmStateChangeEvent } from '../../lib/health/auto-rollback';
import { logger } from '../../lib/observability';
import { controlPlaneHome } from '../../lib/wiring/accounts';
import { alarmResponder } from '../../lib/wiring/alarm-responder';
import { eventHandlerDeps } from '../../lib/wiring/events';

export interface AlarmStateDeps extends EventHandlerDeps {
  responder: Pick<AlarmResponder, 'onAlarm'>;
}

/** `CloudWatch Alarm State Change` for Slipway's alarms: roll back inside the bake window, else notify. */
export function makeHandler(deps: AlarmStateDeps) {
  return eventHandler({ name: 'alarmState', schema: alarmStateChangeEvent }, deps, async (event, context) => {
    const outcome = await deps.responder.onAlarm(event, controlPlaneHome(context?.invokedFunctionArn));
    logger.info('alarm handled', { eventId: event.id, state: event.detail.state.value, ...outcome });
    return outcome;
  });
}

function defaultDeps(): AlarmStateDeps {
  return { responder: alarmResponder(), ...eventHandlerDeps() };
}

export const handler = makeHandler(defaultDeps());
