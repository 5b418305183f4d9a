import { ApiError, NetworkError } from './errors';
import { duration } from './format';

/**
 * `--wait`: poll a record until it ends, printing what is new each time, with a backoff from
 * 2 s to 10 s (back to 2 s whenever something changed), a deadline, and Ctrl-C. A few failed
 * polls in a row (network, 5xx) are ridden out; a refusal (4xx) is not.
 */

/** How long `--wait` (and the action) follows unless told otherwise. */
export const DEFAULT_TIMEOUT_MINUTES = 60;

/** A timeout as given, in minutes: a number above 0; undefined for anything else. */
export function timeoutMinutesOf(text: string): number | undefined {
  const minutes = Number(text);
  return /^\d+(\.\d+)?$/.test(text) && minutes > 0 ? minutes : undefined;
}

export const FIRST_DELAY_MS = 2_000;
export const MAX_DELAY_MS = 10_000;
const GROWTH = 1.5;
const MAX_FAILED_POLLS = 5;

export function nextDelay(previousMs: number, changed: boolean): number {
  if (changed) return FIRST_DELAY_MS;
  return Math.min(MAX_DELAY_MS, Math.round(previousMs * GROWTH));
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Carriage return and erase the line: the spinner is redrawn in place. */
export const CLEAR_LINE = '\r\x1b[2K';

export function spinnerFrame(tick: number, text: string, elapsedMs: number): string {
  return `${CLEAR_LINE}${FRAMES[tick % FRAMES.length]} ${text} ${duration(elapsedMs)}`;
}

/** How progress reaches the terminal: plain lines, or lines above a spinner redrawn in place. */
export interface Progress {
  line(text: string): void;
  status(text: string): void;
  stop(): void;
}

export function plainProgress(write: (text: string) => void): Progress {
  return { line: (text) => write(`${text}\n`), status: () => undefined, stop: () => undefined };
}

export function spinnerProgress(write: (text: string) => void, now: () => number, intervalMs = 100): Progress {
  const started = now();
  let tick = 0;
  // Nothing is drawn until there is something to say.
  let text: string | undefined;
  const draw = () => {
    if (text !== undefined) write(spinnerFrame(tick, text, now() - started));
  };
  const timer = setInterval(() => {
    tick += 1;
    draw();
  }, intervalMs);
  return {
    line: (line) => {
      write(`${CLEAR_LINE}${line}\n`);
      draw();
    },
    status: (next) => {
      text = next;
      draw();
    },
    stop: () => {
      clearInterval(timer);
      write(CLEAR_LINE);
    },
  };
}

export interface FollowSpec<R> {
  poll(signal: AbortSignal): Promise<R>;
  /** Lines for what `current` shows that `previous` did not (all of it when there is no previous). */
  news(previous: R | undefined, current: R): string[];
  done(record: R): boolean;
  /** What the spinner says while it waits. */
  status(record: R): string;
}

export interface FollowOptions {
  timeoutMs: number;
  /** Aborted by Ctrl-C. */
  signal: AbortSignal;
  clock: Clock;
  progress: Progress;
}

export type FollowOutcome<R> = { kind: 'done' | 'timeout' | 'interrupted'; record: R };

function transient(error: unknown): boolean {
  return error instanceof NetworkError || (error instanceof ApiError && error.status >= 500);
}

export async function follow<R>(initial: R, spec: FollowSpec<R>, options: FollowOptions): Promise<FollowOutcome<R>> {
  const { clock, progress, signal } = options;
  const deadline = clock.now() + options.timeoutMs;
  let record = initial;
  let delay = FIRST_DELAY_MS;
  let failures = 0;
  const show = (previous: R | undefined, current: R) => {
    const lines = spec.news(previous, current);
    for (const line of lines) progress.line(line);
    progress.status(spec.status(current));
    return lines.length > 0;
  };

  try {
    show(undefined, record);
    while (!spec.done(record)) {
      const remaining = deadline - clock.now();
      if (remaining <= 0) return { kind: 'timeout', record };
      await clock.sleep(Math.min(delay, remaining), signal);
      if (signal.aborted) return { kind: 'interrupted', record };
      let current: R;
      try {
        current = await spec.poll(signal);
      } catch (error) {
        if (signal.aborted) return { kind: 'interrupted', record };
        failures += 1;
        if (!transient(error) || failures >= MAX_FAILED_POLLS) throw error;
        delay = nextDelay(delay, false);
        continue;
      }
      failures = 0;
      const changed = show(record, current);
      record = current;
      delay = nextDelay(delay, changed);
    }
    return { kind: 'done', record };
  } finally {
    progress.stop();
  }
}
