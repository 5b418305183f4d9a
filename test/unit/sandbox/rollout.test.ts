import { breakerOf, circuitBreakerThreshold, nextDeploymentStep } from '../../../lib/sandbox/rollout';
import type { TaskRecord } from '../../../lib/sandbox/state';

/** The decisions of a rolling update: the circuit breaker's threshold, and what the PRIMARY deployment does next. */

describe('circuitBreakerThreshold', () => {
  // ECS API Reference, ServiceDeploymentCircuitBreaker: 0.5 x desired count, at least 3, at most 200;
  // ThresholdConfiguration: BOUNDED_PERCENT 50 by default, COUNT the value itself, UNBOUNDED_PERCENT unbounded.
  it.each([
    ['2 tasks, by default', undefined, 2, 3],
    ['10 tasks, by default', undefined, 10, 5],
    ['1000 tasks, by default', undefined, 1000, 200],
    ['a COUNT of 1', { thresholdConfiguration: { type: 'COUNT', value: 1 } }, 10, 1],
    ['UNBOUNDED_PERCENT 50 of 2 tasks', { thresholdConfiguration: { type: 'UNBOUNDED_PERCENT', value: 50 } }, 2, 1],
    ['BOUNDED_PERCENT 100 of 10 tasks', { thresholdConfiguration: { type: 'BOUNDED_PERCENT', value: 100 } }, 10, 10],
  ])('given %s, then it is %i failed tasks', (_what, breaker, desired, threshold) => {
    expect(circuitBreakerThreshold(breaker, desired)).toBe(threshold);
  });

  it('given a deployment configuration without a breaker, then the breaker is off', () => {
    expect(breakerOf({ maximumPercent: 200 }, 2)).toEqual({ enable: false, rollback: false, threshold: 3 });
  });
});

const task = (
  id: string,
  deploymentId: string,
  lastStatus: TaskRecord['lastStatus'],
  desiredStatus: TaskRecord['desiredStatus'] = 'RUNNING',
): TaskRecord => ({
  arn: `arn:aws:ecs:us-east-1:123456789012:task/shop/${id}`,
  region: 'us-east-1',
  cluster: 'shop',
  service: 'backend',
  deploymentId,
  group: 'service:backend',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop:2',
  lastStatus,
  desiredStatus,
  createdAt: 0,
  containers: [],
  crashes: false,
  availabilityZone: 'us-east-1a',
  tags: [],
});

describe('nextDeploymentStep', () => {
  const breaker = { enable: true, rollback: true, threshold: 3 };
  const deployment = { id: 'ecs-svc/2', desiredCount: 2, failedTasks: 0, rolloutState: 'IN_PROGRESS' as const };
  const step = (overrides: Partial<Parameters<typeof nextDeploymentStep>[0]>) =>
    nextDeploymentStep({
      deployment,
      tasks: [],
      olderTasksRunning: 0,
      breaker,
      steadySince: undefined,
      steadyMs: 1_000,
      now: 10_000,
      ...overrides,
    });

  it('given no task yet, when it steps, then it starts the desired count', () => {
    expect(step({})).toEqual({ kind: 'launch', count: 2 });
  });

  it('given a task that crashed, when it steps, then it starts one in its place', () => {
    const tasks = [task('a', 'ecs-svc/2', 'RUNNING'), task('b', 'ecs-svc/2', 'STOPPED', 'STOPPED')];
    expect(step({ tasks, deployment: { ...deployment, failedTasks: 1 } })).toEqual({ kind: 'launch', count: 1 });
  });

  it('given as many failed tasks as the threshold, when it steps, then it fails, with the rollback the breaker asks for', () => {
    expect(step({ deployment: { ...deployment, failedTasks: 3 } })).toEqual({ kind: 'fail', rollback: true });
    expect(step({ deployment: { ...deployment, failedTasks: 3 }, breaker: { ...breaker, rollback: false } })).toEqual({
      kind: 'fail',
      rollback: false,
    });
  });

  it('given the breaker off, when tasks keep failing, then it keeps starting tasks', () => {
    expect(step({ deployment: { ...deployment, failedTasks: 50 }, breaker: { ...breaker, enable: false } })).toEqual({
      kind: 'launch',
      count: 2,
    });
  });

  it('given a failed deployment, when it steps, then it starts nothing more', () => {
    expect(step({ deployment: { ...deployment, rolloutState: 'FAILED' } })).toEqual({ kind: 'wait' });
  });

  it('given its tasks still starting, when it steps, then it waits', () => {
    expect(step({ tasks: [task('a', 'ecs-svc/2', 'RUNNING'), task('b', 'ecs-svc/2', 'PROVISIONING')] })).toEqual({
      kind: 'wait',
    });
  });

  it('given all its tasks running and older ones too, when it steps, then it stops the older ones', () => {
    const tasks = [task('a', 'ecs-svc/2', 'RUNNING'), task('b', 'ecs-svc/2', 'RUNNING')];
    expect(step({ tasks, olderTasksRunning: 2 })).toEqual({ kind: 'drain' });
  });

  it('given all its tasks running alone, when it steps, then it waits until steady, then completes', () => {
    const tasks = [task('a', 'ecs-svc/2', 'RUNNING'), task('b', 'ecs-svc/2', 'RUNNING')];
    expect(step({ tasks })).toEqual({ kind: 'settle', at: 11_000 });
    expect(step({ tasks, steadySince: 11_000 })).toEqual({ kind: 'wait' });
    expect(step({ tasks, steadySince: 11_000, now: 11_000 })).toEqual({ kind: 'complete' });
  });

  it('given a completed deployment scaled in, when it steps, then it stops the extra tasks', () => {
    const tasks = [task('a', 'ecs-svc/2', 'RUNNING'), task('b', 'ecs-svc/2', 'RUNNING')];
    expect(step({ tasks, deployment: { ...deployment, desiredCount: 1, rolloutState: 'COMPLETED' } })).toEqual({
      kind: 'scale-in',
      count: 1,
    });
  });
});
