/**
 * Why an ECS deployment failed or was rolled back, gathered from what ECS still remembers:
 * the service's recent events and its recently stopped tasks. The choice of the one-line
 * reason is a pure function (`summarise`); `diagnoseFailure` only reads.
 */
import {
  type Container,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  type ServiceEvent,
  type Task,
} from '@aws-sdk/client-ecs';
import { logger } from '../observability';
import type { FailureDiagnosis, StoppedTask } from './records';

export interface DiagnosisTarget {
  cluster: string;
  service: string;
  /** The revision the deployment put in place; only its stopped tasks are kept. All are kept when absent. */
  taskDefinitionArn?: string;
  /** When the deployment started (ISO): older service events are about something else. */
  since: string;
  /** The reason ECS gave in the event that reported the outcome, if any. */
  eventReason?: string;
}

export interface DiagnosisOptions {
  maxEvents?: number;
  maxTasks?: number;
}

export type ServiceEventLine = FailureDiagnosis['serviceEvents'][number];

export interface Gathered {
  eventReason?: string;
  serviceEvents: ServiceEventLine[];
  stoppedTasks: StoppedTask[];
  /** Name of the error that stopped the reading short, if one did. */
  unreadable?: string;
}

const DEFAULT_MAX_EVENTS = 10;
const DEFAULT_MAX_TASKS = 5;
// DescribeTasks accepts at most 100 task ARNs per call (ECS API Reference, DescribeTasks).
const DESCRIBE_TASKS_LIMIT = 100;
// ListTasks answers up to 100 ARNs a page (ECS API Reference, ListTasks). Ten pages are 1,000 stopped tasks,
// five times the most failed tasks the circuit breaker waits for by default (half the desired count, at most 200:
// ECS API Reference, ServiceDeploymentCircuitBreaker), in at most 20 calls, as a diagnosis delays the notification.
export const MAX_STOPPED_TASK_PAGES = 10;
const NO_REASON = 'ECS gave no reason';

/** Service events at or after `since`, newest first. */
export function recentServiceEvents(
  events: readonly ServiceEvent[] | undefined,
  since: string,
  max: number,
): ServiceEventLine[] {
  const from = Date.parse(since);
  return (events ?? [])
    .filter((event): event is ServiceEvent & { createdAt: Date; message: string } =>
      Boolean(event.createdAt && event.message !== undefined && event.createdAt.getTime() >= from),
    )
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .slice(0, Math.max(0, max))
    .map((event) => ({ at: event.createdAt.toISOString(), message: event.message }));
}

function stoppedContainer(container: Container): StoppedTask['containers'][number] {
  return {
    name: container.name ?? 'unnamed',
    ...(container.exitCode !== undefined ? { exitCode: container.exitCode } : {}),
    ...(container.reason !== undefined ? { reason: container.reason } : {}),
  };
}

/** Stopped tasks of one revision (or all, without one), most recently stopped first. */
export function stoppedTasksOf(
  tasks: readonly Task[] | undefined,
  taskDefinitionArn: string | undefined,
  max: number,
): StoppedTask[] {
  return (tasks ?? [])
    .filter((task): task is Task & { taskArn: string } => Boolean(task.taskArn))
    .filter((task) => taskDefinitionArn === undefined || task.taskDefinitionArn === taskDefinitionArn)
    .sort((a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0))
    .slice(0, Math.max(0, max))
    .map((task) => ({
      taskArn: task.taskArn,
      ...(task.stoppedAt ? { stoppedAt: task.stoppedAt.toISOString() } : {}),
      ...(task.stoppedReason !== undefined ? { stoppedReason: task.stoppedReason } : {}),
      ...(task.stopCode !== undefined ? { stopCode: task.stopCode } : {}),
      containers: (task.containers ?? []).map(stoppedContainer),
    }));
}

/** The id ECS prints in its own messages: the last part of the task ARN. */
export function taskId(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf('/') + 1);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function describeStoppedTask(task: StoppedTask): string {
  const stopped = `task ${taskId(task.taskArn)} stopped: ${task.stoppedReason ?? task.stopCode ?? 'no reason given'}`;
  const crashed = task.containers.find((container) => container.exitCode !== undefined && container.exitCode !== 0);
  if (!crashed) return stopped;
  const detail = crashed.reason ? `: ${crashed.reason}` : '';
  return `${stopped} (container ${crashed.name} exited with ${crashed.exitCode}${detail})`;
}

/** One human line saying why: ECS's own reason, else the latest stopped task, else the latest service event. */
export function summarise(gathered: Gathered): string {
  const eventReason = gathered.eventReason ? oneLine(gathered.eventReason) : '';
  const [task] = gathered.stoppedTasks;
  const [event] = gathered.serviceEvents;
  const reason = eventReason || (task ? describeStoppedTask(task) : event?.message);
  const line = reason ? oneLine(reason) : undefined;
  if (gathered.unreadable === undefined) return line ?? NO_REASON;
  const unread = `details could not be read from ECS (${gathered.unreadable})`;
  return line ? `${line.replace(/\.$/, '')}; further ${unread}` : unread;
}

function errorName(error: unknown): string {
  return error instanceof Error && error.name ? error.name : 'UnknownError';
}

/**
 * What ECS can still tell about a failed deployment. Never throws: a diagnosis that cannot be
 * read in full is still worth recording, so a failed call ends the reading and is named in the reason.
 */
export async function diagnoseFailure(
  ecs: ECSClient,
  target: DiagnosisTarget,
  options: DiagnosisOptions = {},
): Promise<FailureDiagnosis> {
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  const maxTasks = options.maxTasks ?? DEFAULT_MAX_TASKS;
  const { cluster, service } = target;
  const gathered: Gathered = {
    ...(target.eventReason !== undefined ? { eventReason: target.eventReason } : {}),
    serviceEvents: [],
    stoppedTasks: [],
  };
  let step = 'DescribeServices';
  try {
    const described = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    // One service was asked for (by name or ARN); a missing one comes back under `failures` instead.
    gathered.serviceEvents = recentServiceEvents(described.services?.[0]?.events, target.since, maxEvents);

    // ECS keeps stopped tasks for about an hour; later diagnoses find none. ListTasks promises no order, so
    // other revisions' (earlier deployments, scale-ins) may fill the first pages: read on until the revision's are found.
    const read: Task[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      step = 'ListTasks';
      const listed = await ecs.send(
        new ListTasksCommand({
          cluster,
          serviceName: service,
          desiredStatus: 'STOPPED',
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      pages += 1;
      nextToken = listed.nextToken;
      const taskArns = listed.taskArns ?? [];
      for (let start = 0; start < taskArns.length; start += DESCRIBE_TASKS_LIMIT) {
        step = 'DescribeTasks';
        const described = await ecs.send(
          new DescribeTasksCommand({ cluster, tasks: taskArns.slice(start, start + DESCRIBE_TASKS_LIMIT) }),
        );
        read.push(...(described.tasks ?? []));
        gathered.stoppedTasks = stoppedTasksOf(read, target.taskDefinitionArn, maxTasks);
      }
    } while (nextToken && gathered.stoppedTasks.length < maxTasks && pages < MAX_STOPPED_TASK_PAGES);
  } catch (error) {
    gathered.unreadable = errorName(error);
    logger.warn('failure diagnosis incomplete', { cluster, service, step, error: error as Error });
  }
  return {
    reason: summarise(gathered),
    serviceEvents: gathered.serviceEvents,
    stoppedTasks: gathered.stoppedTasks,
  };
}
