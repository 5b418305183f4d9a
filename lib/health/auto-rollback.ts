import * as z from 'zod/mini';
import '../errors/validation';
import type { DeploymentRecord } from '../deploy/records';

/**
 * What an alarm means for the environment it watches: roll the last deployment back when the
 * alarm starts firing inside that deployment's bake window, otherwise only tell people.
 * Pure: the caller reads the history and carries the decision out.
 */

const alarmState = z.object({
  value: z.string().check(z.minLength(1)),
  reason: z._default(z.string(), ''),
  timestamp: z.string().check(z.refine((value) => !Number.isNaN(Date.parse(value)), 'expected a timestamp')),
});

/** `CloudWatch Alarm State Change`, as EventBridge delivers it (CloudWatch user guide). */
export const alarmStateChangeEvent = z.object({
  id: z.string().check(z.minLength(1)),
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  account: z.string(),
  region: z.string(),
  time: z.string(),
  resources: z._default(z.array(z.string()), []),
  detail: z.object({
    alarmName: z.string().check(z.minLength(1)),
    state: alarmState,
    previousState: z.optional(alarmState),
  }),
});
export type AlarmStateChangeEvent = z.output<typeof alarmStateChangeEvent>;

export type AlarmDecision =
  | { action: 'rollback'; reason: string; deployment: DeploymentRecord }
  | { action: 'notify'; reason: string };

const ROLLED_BACK_KINDS: readonly DeploymentRecord['kind'][] = ['deploy', 'promote'];

const at = (record: DeploymentRecord, state: DeploymentRecord['state']) =>
  record.timeline.find((entry) => entry.state === state)?.at;

export function alarmDecision(input: {
  alarm: AlarmStateChangeEvent['detail'];
  /** The environment's newest deployment. */
  last: DeploymentRecord | undefined;
  bakeMinutes: number;
  now: Date;
}): AlarmDecision {
  const { alarm, last, bakeMinutes, now } = input;
  if (alarm.state.value !== 'ALARM') return { action: 'notify', reason: `alarm is ${alarm.state.value}` };
  if (alarm.previousState?.value === 'ALARM') return { action: 'notify', reason: 'the alarm was already firing' };
  if (!last) return { action: 'notify', reason: 'no deployment to roll back' };
  if (last.kind === 'rollback') {
    return {
      action: 'notify',
      reason: `the last deployment ${last.id} is a rollback; a rollback is never rolled back`,
    };
  }
  if (!ROLLED_BACK_KINDS.includes(last.kind)) {
    return { action: 'notify', reason: `the last deployment ${last.id} is a ${last.kind}, which changed no image` };
  }
  if (last.state !== 'SUCCEEDED') {
    return { action: 'notify', reason: `the last deployment ${last.id} is ${last.state}, not a success to roll back` };
  }
  if (bakeMinutes === 0) return { action: 'notify', reason: 'the environment has no bake window (bakeMinutes: 0)' };
  const succeededAt = Date.parse(at(last, 'SUCCEEDED') ?? last.updatedAt);
  const startedAt = Date.parse(at(last, 'IN_PROGRESS') ?? last.createdAt);
  const firedAt = Date.parse(alarm.state.timestamp);
  if (now.getTime() - succeededAt > bakeMinutes * 60_000) {
    return {
      action: 'notify',
      reason: `the last deployment ${last.id} succeeded more than ${bakeMinutes} minutes ago (outside the bake window)`,
    };
  }
  if (firedAt < startedAt) {
    return { action: 'notify', reason: `the alarm fired before the deployment ${last.id} started` };
  }
  return {
    action: 'rollback',
    reason: `alarm ${alarm.alarmName} fired at ${new Date(firedAt).toISOString()}, inside the ${bakeMinutes}-minute bake window of ${last.id}${alarm.state.reason ? `: ${alarm.state.reason}` : ''}`,
    deployment: last,
  };
}
