import type { Envelope } from './events';
import { type Millis, nextUuid, type SandboxState } from './state';
import type { Json } from './wire';

/**
 * What every operation and every step of the simulation works on: the state, the time it is, the
 * region a request was signed for, how long AWS's work takes here, and where events go.
 */

/** How long the sandbox takes for what AWS takes minutes to do: the compressed clock. */
export interface Timings {
  /** A task from PROVISIONING to RUNNING. */
  taskStartMs: Millis;
  /** A RUNNING task of a crashing image until its essential container exits. */
  crashAfterMs: Millis;
  /** A task told to stop until it is STOPPED. */
  taskStopMs: Millis;
  /** From the last task RUNNING until ECS calls the deployment steady (COMPLETED). */
  steadyStateMs: Millis;
  /** A pushed image until its basic scan completes. */
  scanMs: Millis;
  /** A snapshot from creating to available; a copy from pending to available. */
  snapshotMs: Millis;
  /** A restored or created instance or cluster from creating to available. */
  restoreMs: Millis;
  /** An export task from STARTING to COMPLETE. */
  exportMs: Millis;
  /** An instance, cluster or snapshot from deleting to gone. */
  deleteMs: Millis;
  /** How long stopped tasks stay listed (ECS keeps them about an hour). */
  stoppedTaskRetentionMs: Millis;
}

export const DEFAULT_TIMINGS: Timings = {
  taskStartMs: 1_000,
  crashAfterMs: 500,
  taskStopMs: 500,
  steadyStateMs: 1_000,
  scanMs: 1_500,
  snapshotMs: 3_000,
  restoreMs: 5_000,
  exportMs: 5_000,
  deleteMs: 2_000,
  stoppedTaskRetentionMs: 3_600_000,
};

export interface Sim {
  state: SandboxState;
  now: Millis;
  /** The region of the request (its signature's credential scope), else the sandbox's own. */
  region: string;
  timings: Timings;
  emit: (event: Json) => void;
}

export const arnOf = (sim: Pick<Sim, 'state' | 'region'>, service: string, resource: string, region = sim.region) =>
  `arn:aws:${service}:${region}:${sim.state.account}:${resource}`;

/** The envelope of an event sent now (or at `at`), in the request's region. */
export function envelopeOf(sim: Sim, at: Millis = sim.now, region = sim.region): Envelope {
  return { id: nextUuid(sim.state), account: sim.state.account, region, at };
}
