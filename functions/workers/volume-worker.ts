import { type EventHandlerDeps, eventHandler } from '../../lib/events/handler';
import { logger } from '../../lib/observability';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { workerDepsFromEnv } from '../../lib/worker/deps';
import { type JobOutcome, runJob, type WorkerJobDeps } from '../../lib/worker/jobs';
import { type WorkerJob, workerJob } from '../../lib/worker/launch';

export interface VolumeWorkerDeps extends EventHandlerDeps {
  run: (job: WorkerJob) => Promise<JobOutcome>;
}

/**
 * One function per volume, with that volume's access point mounted under /mnt: archives and
 * restores it as the control plane asks (an asynchronous invoke carrying the job).
 */
export function makeHandler(deps: VolumeWorkerDeps) {
  return eventHandler({ name: 'volumeWorker', schema: workerJob }, deps, async (job) => {
    const outcome = await deps.run(job);
    logger.info('volume job ended', { ...outcome });
    return outcome;
  });
}

function defaultDeps(): VolumeWorkerDeps {
  let jobDeps: WorkerJobDeps | undefined;
  return {
    run: (job) => {
      jobDeps ??= workerDepsFromEnv();
      return runJob(job, jobDeps);
    },
    ...eventHandlerDeps(),
  };
}

export const handler = makeHandler(defaultDeps());
