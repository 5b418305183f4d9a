import { openJobVerdict } from '../../../lib/backup/archive-settlement';

/** When the reconciler ends an open worker job, why, and whether its ECS task must be stopped. */

const TASK_LIMIT = 360;
const LAMBDA_LIMIT = 16;

describe('openJobVerdict', () => {
  it.each([
    ['a task job within its limit', { status: 'CREATING', runner: 'ecs' }, 360, TASK_LIMIT],
    ['a queued task job within its limit', { status: 'QUEUED', runner: 'ecs' }, 12, TASK_LIMIT],
    ['a function job within its limit', { status: 'RESTORING', runner: 'lambda' }, 15.5, LAMBDA_LIMIT],
  ] as const)('given %s, when judged, then it is left alone', (_, record, ageMinutes, limitMinutes) => {
    expect(openJobVerdict(record, { stoppedBecause: undefined, ageMinutes, limitMinutes })).toBeUndefined();
  });

  it('given a task that stopped without an outcome, when judged, then FAILED with ECS’s reason and nothing to stop, whatever its age', () => {
    expect(
      openJobVerdict(
        { status: 'CREATING', runner: 'ecs' },
        {
          stoppedBecause: 'OutOfMemoryError: Container killed due to memory usage, exit code 137',
          ageMinutes: 3,
          limitMinutes: TASK_LIMIT,
        },
      ),
    ).toEqual({
      reason:
        'the worker task stopped without recording an outcome: OutOfMemoryError: Container killed due to memory usage, exit code 137',
      stopTask: false,
    });
  });

  it.each([
    [
      'a task job past worker.timeoutMinutes, still running',
      { status: 'CREATING', runner: 'ecs' },
      TASK_LIMIT,
      { reason: 'no outcome after 360 minutes (worker.timeoutMinutes)', stopTask: true },
    ],
    [
      'a task restore past worker.timeoutMinutes',
      { status: 'RESTORING', runner: 'ecs' },
      TASK_LIMIT,
      { reason: 'no outcome after 360 minutes (worker.timeoutMinutes)', stopTask: true },
    ],
    [
      'a task that never claimed its job (stuck pulling its image, say)',
      { status: 'QUEUED', runner: 'ecs' },
      TASK_LIMIT,
      { reason: 'no outcome after 360 minutes (the worker never started)', stopTask: true },
    ],
    [
      'a function job past 16 minutes: Lambda ended it at 15',
      { status: 'CREATING', runner: 'lambda' },
      LAMBDA_LIMIT,
      {
        reason: 'no outcome after 16 minutes: Lambda ended the volume function at its 15-minute timeout',
        stopTask: false,
      },
    ],
    [
      'a function job that never started',
      { status: 'QUEUED', runner: 'lambda' },
      LAMBDA_LIMIT,
      { reason: 'no outcome after 16 minutes (the worker never started)', stopTask: false },
    ],
  ] as const)(
    'given %s, when judged, then FAILED with why, and its task stopped where there is one',
    (_, record, limitMinutes, verdict) => {
      expect(
        openJobVerdict(record, { stoppedBecause: undefined, ageMinutes: limitMinutes + 0.5, limitMinutes }),
      ).toEqual(verdict);
    },
  );
});
