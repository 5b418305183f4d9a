import { advanceEcr, nextEcrChange } from './ecr';
import { advanceEcs, nextEcsChange } from './ecs';
import { advanceRds, nextRdsChange } from './rds';
import { type EventRule, targetsOf } from './rules';
import type { Sim, Timings } from './sim';
import type { Millis, PendingDelivery, SandboxState } from './state';
import type { Json } from './wire';

/**
 * The simulated AWS: requests change the state at the time they arrive; between requests, what AWS does
 * by itself (tasks starting and crashing, deployments settling, scans and snapshots finishing) happens
 * at the time it is due, in order, so a clock moved by an hour replays the hour. Every event it sends
 * is queued for each function whose rule matches it, and delivered in order.
 */

// EventBridge retries a failed delivery for up to 24 hours by default (Amazon EventBridge User Guide,
// "Event retry policy and using dead-letter queues"), backing off exponentially.
const MAX_EVENT_AGE_MS = 24 * 3_600_000;
const MAX_RETRY_DELAY_MS = 60_000;

export class Simulation {
  constructor(
    readonly state: SandboxState,
    private readonly timings: Timings,
    private readonly rules: EventRule[],
    /** What else changes by itself when AWS does (alarms recovering after a rollback). */
    private readonly follow: (sim: Sim) => void = () => undefined,
  ) {}

  /** Runs one request (or any change from outside) at `now` in `region`, then what it set off at once. */
  run<T>(now: Millis, region: string, change: (sim: Sim) => T): T {
    this.advanceTo(now);
    const sim = this.sim(now, region);
    const result = change(sim);
    advanceEcs(sim);
    return result;
  }

  /** Everything AWS does by itself up to `now`, each change at the time it is due. */
  advanceTo(now: Millis): void {
    for (let guard = 0; guard < 100_000; guard += 1) {
      const next = this.nextChange();
      if (next === undefined || next > now) break;
      this.step(next);
    }
    this.step(now);
  }

  /** When AWS next does something by itself. */
  nextChange(): Millis | undefined {
    const sim = this.sim(0, this.state.region);
    const times = [nextEcsChange(sim), nextEcrChange(sim), nextRdsChange(sim)].filter(
      (time): time is Millis => time !== undefined,
    );
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  private step(at: Millis): void {
    const sim = this.sim(at, this.state.region);
    advanceEcr(sim);
    advanceRds(sim);
    advanceEcs(sim);
    this.follow(sim);
  }

  private sim(now: Millis, region: string): Sim {
    return {
      state: this.state,
      now,
      region,
      timings: this.timings,
      emit: (event) => this.queue(event, now),
    };
  }

  private queue(event: Json, now: Millis): void {
    for (const functionName of targetsOf(this.rules, event)) {
      this.state.outbox.push({ functionName, event, attempts: 0, nextAttemptAt: now });
    }
  }

  /** The first delivery due at `now`, if any: deliveries are made one at a time, in order. */
  nextDelivery(now: Millis): PendingDelivery | undefined {
    return this.state.outbox.find((delivery) => delivery.nextAttemptAt <= now);
  }

  delivered(delivery: PendingDelivery): void {
    this.state.outbox = this.state.outbox.filter((each) => each !== delivery);
  }

  /** A failed delivery is tried again later; one older than EventBridge keeps events is dropped. Says whether it was dropped. */
  failed(delivery: PendingDelivery, now: Millis): boolean {
    const sentAt = Date.parse(String(delivery.event.time));
    if (now - sentAt > MAX_EVENT_AGE_MS) {
      this.delivered(delivery);
      return true;
    }
    delivery.attempts += 1;
    delivery.nextAttemptAt = now + Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** (delivery.attempts - 1));
    return false;
  }
}
