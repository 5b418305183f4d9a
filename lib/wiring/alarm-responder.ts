import { AlarmResponder } from '../health/alarm-responder';
import { config } from './config';
import { deploymentRequests } from './deployments';
import { environment } from './environment';
import { idempotency } from './idempotency';
import { publisher } from './notifications';

let cached: AlarmResponder | undefined;

/** What alarm state changes run on: rollbacks through the deploy use case, notifications otherwise. */
export function alarmResponder(): AlarmResponder {
  cached ??= new AlarmResponder({
    config: config(),
    stage: environment().stage,
    deployments: deploymentRequests(),
    idempotency: idempotency(),
    publisher: publisher(),
  });
  return cached;
}
