import type { EcsDeploymentRecord, Millis, TaskRecord } from './state';
import type { Json } from './wire';

/**
 * The decisions of an ECS rolling update, as pure functions of plain data: how many failed tasks trip the
 * circuit breaker, what a deployment does next, and the words ECS uses for each step.
 */

/**
 * ECS API Reference, ServiceDeploymentCircuitBreaker (threshold: "0.5 * desired task count", at least 3
 * and at most 200) and ThresholdConfiguration (BOUNDED_PERCENT 50 by default; COUNT is the value itself;
 * UNBOUNDED_PERCENT has no bounds).
 */
export function circuitBreakerThreshold(breaker: Json | undefined, desiredCount: number): number {
  const configuration = breaker?.thresholdConfiguration as { type?: string; value?: number } | undefined;
  const type = configuration?.type ?? 'BOUNDED_PERCENT';
  const value = configuration?.value ?? 50;
  if (type === 'COUNT') return Math.max(1, value);
  const fraction = Math.ceil((value / 100) * desiredCount);
  return type === 'UNBOUNDED_PERCENT' ? Math.max(1, fraction) : Math.min(200, Math.max(3, fraction));
}

export interface BreakerSettings {
  enable: boolean;
  rollback: boolean;
  threshold: number;
}

export function breakerOf(deploymentConfiguration: Json, desiredCount: number): BreakerSettings {
  const breaker = deploymentConfiguration.deploymentCircuitBreaker as Json | undefined;
  return {
    enable: breaker?.enable === true,
    rollback: breaker?.rollback === true,
    threshold: circuitBreakerThreshold(breaker, desiredCount),
  };
}

/** Tasks of a deployment that still count towards it: not told to stop, not stopped. */
export const liveTasks = (tasks: TaskRecord[], deploymentId: string) =>
  tasks.filter(
    (task) => task.deploymentId === deploymentId && task.desiredStatus === 'RUNNING' && task.lastStatus !== 'STOPPED',
  );

export type DeploymentStep =
  | { kind: 'fail'; rollback: boolean }
  | { kind: 'launch'; count: number }
  | { kind: 'scale-in'; count: number }
  | { kind: 'drain' }
  | { kind: 'settle'; at: Millis }
  | { kind: 'complete' }
  | { kind: 'wait' };

/**
 * What the PRIMARY deployment does next, given its tasks and whether older deployments still run tasks:
 * fail once the breaker's threshold of failed tasks is reached; start tasks up to the desired count (a
 * failed deployment starts none: "no new tasks are launched", ECS Developer Guide, "How the Amazon ECS
 * deployment circuit breaker detects failures"); once all run, stop the older deployments' tasks; once
 * those are gone, wait `steadyMs` and complete.
 */
export function nextDeploymentStep(input: {
  deployment: Pick<EcsDeploymentRecord, 'id' | 'desiredCount' | 'failedTasks' | 'rolloutState'>;
  tasks: TaskRecord[];
  olderTasksRunning: number;
  breaker: BreakerSettings;
  steadySince: Millis | undefined;
  steadyMs: Millis;
  now: Millis;
}): DeploymentStep {
  const { deployment, tasks, breaker } = input;
  if (deployment.rolloutState === 'FAILED') return { kind: 'wait' };
  if (deployment.rolloutState === 'IN_PROGRESS' && breaker.enable && deployment.failedTasks >= breaker.threshold) {
    return { kind: 'fail', rollback: breaker.rollback };
  }
  const live = liveTasks(tasks, deployment.id);
  if (live.length < deployment.desiredCount) return { kind: 'launch', count: deployment.desiredCount - live.length };
  if (live.length > deployment.desiredCount) return { kind: 'scale-in', count: live.length - deployment.desiredCount };
  if (live.some((task) => task.lastStatus !== 'RUNNING')) return { kind: 'wait' };
  if (input.olderTasksRunning > 0) return { kind: 'drain' };
  if (deployment.rolloutState !== 'IN_PROGRESS') return { kind: 'wait' };
  if (input.steadySince === undefined) return { kind: 'settle', at: input.now + input.steadyMs };
  return input.steadySince <= input.now ? { kind: 'complete' } : { kind: 'wait' };
}

// What ECS says, in DescribeServices' events and deployments and in its EventBridge events
// (test/fixtures/ecs/describe-services.failing.json; Amazon ECS Developer Guide, "Amazon ECS service
// deployment state change events").
export const ecsWords = {
  inProgress: (id: string) => `ECS deployment ${id} in progress.`,
  completed: (id: string) => `ECS deployment ${id} completed.`,
  breakerFailedEvent: 'ECS deployment circuit breaker: task failed to start.',
  breakerFailedState: 'ECS deployment circuit breaker: tasks failed to start.',
  rollingBack: (targetId: string) => `ECS deployment circuit breaker: rolling back to deploymentId ${targetId}.`,
  started: (service: string, ids: string[]) =>
    `(service ${service}) has started ${ids.length} tasks: ${ids.map((id) => `(task ${id})`).join(' ')}.`,
  stopped: (service: string, ids: string[]) =>
    `(service ${service}) has stopped ${ids.length} running tasks: ${ids.map((id) => `(task ${id})`).join(' ')}.`,
  steady: (service: string) => `(service ${service}) has reached a steady state.`,
  deploymentCompleted: (service: string, id: string) => `(service ${service}) deployment ${id} deployment completed.`,
  deploymentFailed: (service: string, id: string) =>
    `(service ${service}) deployment ${id} deployment failed: tasks failed to start.`,
  rollingBackTo: (service: string, targetId: string) => `(service ${service}) rolling back to deployment ${targetId}.`,
  scaledBy: (deploymentId: string) => `Scaling activity initiated by (deployment ${deploymentId})`,
};
