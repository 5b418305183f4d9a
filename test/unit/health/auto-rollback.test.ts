import { readFileSync } from 'node:fs';
import type { DeploymentRecord } from '../../../lib/deploy/records';
import { type AlarmStateChangeEvent, alarmDecision, alarmStateChangeEvent } from '../../../lib/health/auto-rollback';

const sample = alarmStateChangeEvent.parse(
  JSON.parse(readFileSync('events/cloudwatch.alarm-state-change.json', 'utf8')),
);

function alarm(value: string, previous: string, timestamp: string): AlarmStateChangeEvent['detail'] {
  return {
    ...sample.detail,
    state: { ...sample.detail.state, value, timestamp },
    previousState: { ...(sample.detail.previousState ?? sample.detail.state), value: previous },
  };
}

/** A deployment started at 10:00 and, unless told otherwise, succeeded at 10:05. */
function deployment(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: 'dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f',
    app: 'shop',
    environment: 'production',
    kind: 'deploy',
    state: 'SUCCEEDED',
    requestedBy: { name: 'alice', kind: 'token' },
    createdAt: '2026-11-22T09:59:00.000Z',
    updatedAt: '2026-11-22T10:05:00.000Z',
    cluster: 'shop-prod',
    service: 'backend',
    from: { taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:41', images: {} },
    to: { taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:47', images: {} },
    registeredTaskDefinition: true,
    approvals: { required: 0, by: [] },
    timeline: [
      { state: 'REQUESTED', at: '2026-11-22T09:59:00.000Z' },
      { state: 'IN_PROGRESS', at: '2026-11-22T10:00:00.000Z' },
      { state: 'SUCCEEDED', at: '2026-11-22T10:05:00.000Z' },
    ],
    ...overrides,
  };
}

const now = new Date('2026-11-22T10:20:00.000Z');
const inside = alarm('ALARM', 'OK', '2026-11-22T10:12:00.000+0000');

describe('alarmDecision', () => {
  it('rolls back a success whose alarm fires inside the bake window', () => {
    const decision = alarmDecision({ alarm: inside, last: deployment(), bakeMinutes: 30, now });
    expect(decision).toEqual({
      action: 'rollback',
      deployment: deployment(),
      reason: `alarm ${inside.alarmName} fired at 2026-11-22T10:12:00.000Z, inside the 30-minute bake window of dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f: ${inside.state.reason}`,
    });
  });

  it.each<[string, Parameters<typeof alarmDecision>[0], string]>([
    [
      'an alarm going back to OK',
      { alarm: alarm('OK', 'ALARM', '2026-11-22T10:12:00Z'), last: deployment(), bakeMinutes: 30, now },
      'alarm is OK',
    ],
    [
      'an alarm already firing',
      { alarm: alarm('ALARM', 'ALARM', '2026-11-22T10:12:00Z'), last: deployment(), bakeMinutes: 30, now },
      'the alarm was already firing',
    ],
    ['no deployment yet', { alarm: inside, last: undefined, bakeMinutes: 30, now }, 'no deployment to roll back'],
    [
      'a rollback',
      { alarm: inside, last: deployment({ kind: 'rollback' }), bakeMinutes: 30, now },
      'the last deployment dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f is a rollback; a rollback is never rolled back',
    ],
    [
      'a scale',
      { alarm: inside, last: deployment({ kind: 'scale' }), bakeMinutes: 30, now },
      'the last deployment dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f is a scale, which changed no image',
    ],
    [
      'a deployment still in progress (ECS rolls back on the alarm itself)',
      { alarm: inside, last: deployment({ state: 'IN_PROGRESS' }), bakeMinutes: 30, now },
      'the last deployment dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f is IN_PROGRESS, not a success to roll back',
    ],
    [
      'no bake window',
      { alarm: inside, last: deployment(), bakeMinutes: 0, now },
      'the environment has no bake window (bakeMinutes: 0)',
    ],
    [
      'a success older than the bake window',
      { alarm: inside, last: deployment(), bakeMinutes: 10, now },
      'the last deployment dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f succeeded more than 10 minutes ago (outside the bake window)',
    ],
    [
      'an alarm that fired before the deployment started',
      { alarm: alarm('ALARM', 'OK', '2026-11-22T09:58:00.000+0000'), last: deployment(), bakeMinutes: 30, now },
      'the alarm fired before the deployment dep-5b0c2c4e-7d0a-4c1e-9a51-2f1e3c4d5e6f started',
    ],
  ])('only notifies for %s', (_, input, reason) => {
    expect(alarmDecision(input)).toEqual({ action: 'notify', reason });
  });

  it('counts the bake window from the success, not from the request', () => {
    // Requested long before, succeeded at 10:05: at 10:34 it is still inside 30 minutes
    const late = deployment({ createdAt: '2026-11-22T08:00:00.000Z' });
    const decision = alarmDecision({
      alarm: inside,
      last: late,
      bakeMinutes: 30,
      now: new Date('2026-11-22T10:34:00.000Z'),
    });
    expect(decision.action).toBe('rollback');
  });
});
