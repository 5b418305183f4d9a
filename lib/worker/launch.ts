import { createHash } from 'node:crypto';
import { type ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod/mini';
import type { WorkerRunner } from '../backup/records';
import type { WorkerConfig } from '../config/schema';
import { UpstreamFailed } from '../errors';
import '../errors/validation';

/**
 * Starting a worker job where it can run: the function that has the volume mounted (asynchronous
 * invoke), or the worker task on Fargate (RunTask). A job names only its record; everything the
 * worker needs to know is in the record, so the worker image carries no configuration.
 */

// Built in a call marked pure: a function that launches no job, or does not check one, drops it.
export const workerJob = /* @__PURE__ */ (() =>
  z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('backup'), backupId: z.string().check(z.regex(/^bkp-[0-9a-f-]{36}$/)) }),
      z.strictObject({ type: z.literal('restore'), restoreId: z.string().check(z.regex(/^rst-[0-9a-f-]{36}$/)) }),
    ],
    { error: 'expected a worker job {type: backup, backupId} or {type: restore, restoreId}' },
  ))();
export type WorkerJob = z.infer<typeof workerJob>;

export interface LaunchTarget {
  runner: WorkerRunner;
  /** The volume whose function runs the job (runner lambda). */
  volume?: string;
}

export interface WorkerLauncher {
  /** Starts the job; resolves with the task's ARN when it is an ECS task. */
  launch(job: WorkerJob, target: LaunchTarget): Promise<{ taskArn?: string }>;
}

const FUNCTION_NAME_LIMIT = 64;

/** The name of the function that has `volume` mounted; Lambda names stop at 64 characters. */
export function volumeFunctionName(service: string, stage: string, volume: string): string {
  const name = `${service}-${stage}-volume-${volume}`;
  if (name.length <= FUNCTION_NAME_LIMIT) return name;
  const hash = createHash('sha256').update(volume).digest('hex').slice(0, 8);
  return `${name.slice(0, FUNCTION_NAME_LIMIT - hash.length - 1)}-${hash}`;
}

export interface TaskSettings {
  cluster: string;
  taskDefinition: string;
  network: Pick<WorkerConfig, 'subnetIds' | 'securityGroupIds' | 'assignPublicIp'>;
}

/** The container in the worker task definition (resources/worker.yml). */
export const WORKER_CONTAINER = 'worker';

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');

export function runTaskInput(job: WorkerJob, settings: TaskSettings) {
  return {
    cluster: settings.cluster,
    taskDefinition: settings.taskDefinition,
    launchType: 'FARGATE' as const,
    count: 1,
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: settings.network.subnetIds,
        securityGroups: settings.network.securityGroupIds,
        assignPublicIp: settings.network.assignPublicIp ? ('ENABLED' as const) : ('DISABLED' as const),
      },
    },
    overrides: {
      containerOverrides: [{ name: WORKER_CONTAINER, command: ['run-job', '--job', JSON.stringify(job)] }],
    },
    // startedBy shows in the console and in ListTasks; the tag finds the task from the record.
    startedBy: 'slipway',
    tags: [{ key: 'slipway:job', value: job.type === 'backup' ? job.backupId : job.restoreId }],
    propagateTags: 'TASK_DEFINITION' as const,
  };
}

export function workerLauncher(deps: {
  ecs: () => ECSClient;
  lambda: () => LambdaClient;
  service: string;
  stage: string;
  /** Undefined where no worker task is deployed (no worker section in config). */
  task: TaskSettings | undefined;
}): WorkerLauncher {
  return {
    async launch(job, target) {
      if (target.runner === 'lambda') {
        if (!target.volume) throw new UpstreamFailed('a job for a volume function needs its volume');
        const functionName = volumeFunctionName(deps.service, deps.stage, target.volume);
        try {
          const { StatusCode } = await deps.lambda().send(
            new InvokeCommand({
              FunctionName: functionName,
              InvocationType: 'Event',
              Payload: new TextEncoder().encode(JSON.stringify(job)),
            }),
          );
          // An accepted asynchronous invocation answers 202.
          if (StatusCode !== 202) throw new Error(`Lambda answered ${StatusCode}`);
          return {};
        } catch (error) {
          throw new UpstreamFailed(`could not start ${functionName} (${errorName(error)})`, { cause: error });
        }
      }
      if (!deps.task) throw new UpstreamFailed('no worker task is deployed: add a worker section to the config');
      try {
        const { tasks, failures } = await deps.ecs().send(new RunTaskCommand(runTaskInput(job, deps.task)));
        const taskArn = tasks?.[0]?.taskArn;
        if (!taskArn) {
          const failure = failures?.[0];
          throw new Error(
            failure ? `${failure.reason ?? 'refused'}${failure.detail ? `: ${failure.detail}` : ''}` : 'no task',
          );
        }
        return { taskArn };
      } catch (error) {
        throw new UpstreamFailed(`ECS did not start the worker task (${(error as Error).message})`, { cause: error });
      }
    },
  };
}
