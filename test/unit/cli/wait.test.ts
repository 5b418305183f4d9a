import { ApiError, NetworkError } from '../../../packages/cli/src/errors';
import {
  CLEAR_LINE,
  type Clock,
  FIRST_DELAY_MS,
  type FollowSpec,
  follow,
  MAX_DELAY_MS,
  nextDelay,
  type Progress,
  spinnerFrame,
} from '../../../packages/cli/src/wait';

interface Fake {
  state: string;
  steps: string[];
}

/** A clock whose sleeps pass at once and are recorded; abort() plays Ctrl-C during the nth sleep. */
function fakeClock(options: { interruptAtSleep?: number; controller?: AbortController } = {}) {
  let now = 0;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (sleeps.length === options.interruptAtSleep) options.controller?.abort();
      else now += ms;
    },
  };
  return { clock, sleeps };
}

function recorder(): Progress & { lines: string[]; statuses: string[]; stopped: boolean } {
  const progress = {
    lines: [] as string[],
    statuses: [] as string[],
    stopped: false,
    line: (text: string) => progress.lines.push(text),
    status: (text: string) => progress.statuses.push(text),
    stop: () => {
      progress.stopped = true;
    },
  };
  return progress;
}

/** A record read from a script of answers (each a record or an error), the last repeated. */
function spec(answers: Array<Fake | Error>): FollowSpec<Fake> & { polls: () => number } {
  let polls = 0;
  return {
    polls: () => polls,
    poll: async () => {
      const answer = answers[Math.min(polls, answers.length - 1)] as Fake | Error;
      polls += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    news: (previous, current) => current.steps.slice(previous?.steps.length ?? 0),
    done: (record) => record.state === 'DONE',
    status: (record) => record.state,
  };
}

const running = (...steps: string[]): Fake => ({ state: 'RUNNING', steps });
const finished = (...steps: string[]): Fake => ({ state: 'DONE', steps });

describe('nextDelay', () => {
  it('backs off from 2 s to 10 s while nothing changes, and starts over when something does', () => {
    const delays = [FIRST_DELAY_MS];
    for (let poll = 0; poll < 6; poll += 1) delays.push(nextDelay(delays.at(-1) as number, false));
    expect(delays).toEqual([2_000, 3_000, 4_500, 6_750, 10_000, 10_000, 10_000]);
    expect(nextDelay(MAX_DELAY_MS, true)).toBe(FIRST_DELAY_MS);
  });
});

describe('follow', () => {
  it('prints each step once, as it appears, until the record ends', async () => {
    // Given a record that gains steps over four polls
    const { clock, sleeps } = fakeClock();
    const progress = recorder();
    const script = spec([running('a', 'b'), running('a', 'b'), running('a', 'b', 'c'), finished('a', 'b', 'c', 'd')]);

    // When it is followed
    const outcome = await follow(running('a'), script, {
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      clock,
      progress,
    });

    // Then every step was printed once, in order, and the final record is returned
    expect(outcome).toEqual({ kind: 'done', record: finished('a', 'b', 'c', 'd') });
    expect(progress.lines).toEqual(['a', 'b', 'c', 'd']);
    expect(progress.statuses.at(-1)).toBe('DONE');
    expect(progress.stopped).toBe(true);
    // And polls were spaced by the backoff, back to 2 s after each change
    expect(sleeps).toEqual([2_000, 2_000, 3_000, 2_000]);
  });

  it('does not poll a record that has already ended', async () => {
    const { clock, sleeps } = fakeClock();
    const script = spec([finished('x')]);
    const outcome = await follow(finished('a'), script, {
      timeoutMs: 60_000,
      signal: new AbortController().signal,
      clock,
      progress: recorder(),
    });
    expect(outcome.kind).toBe('done');
    expect(script.polls()).toBe(0);
    expect(sleeps).toEqual([]);
  });

  it('gives up at the deadline with the last record seen', async () => {
    const { clock, sleeps } = fakeClock();
    const outcome = await follow(running('a'), spec([running('a')]), {
      timeoutMs: 20_000,
      signal: new AbortController().signal,
      clock,
      progress: recorder(),
    });
    expect(outcome).toEqual({ kind: 'timeout', record: running('a') });
    // 2 + 3 + 4.5 + 6.75 = 16.25 s, then only what is left of the 20 s
    expect(sleeps).toEqual([2_000, 3_000, 4_500, 6_750, 3_750]);
  });

  it('stops following on Ctrl-C, leaving the record as last seen', async () => {
    const controller = new AbortController();
    const { clock } = fakeClock({ interruptAtSleep: 2, controller });
    const progress = recorder();
    const script = spec([running('a', 'b')]);
    const outcome = await follow(running('a'), script, {
      timeoutMs: 60_000,
      signal: controller.signal,
      clock,
      progress,
    });
    expect(outcome).toEqual({ kind: 'interrupted', record: running('a', 'b') });
    expect(script.polls()).toBe(1);
    expect(progress.stopped).toBe(true);
  });

  it('rides out a few failed polls (network, 5xx), then carries on', async () => {
    const { clock } = fakeClock();
    const progress = recorder();
    const outcome = await follow(
      running('a'),
      spec([new NetworkError('cannot reach'), new ApiError(503, 'busy'), finished('a', 'b')]),
      { timeoutMs: 60_000, signal: new AbortController().signal, clock, progress },
    );
    expect(outcome.kind).toBe('done');
    expect(progress.lines).toEqual(['a', 'b']);
  });

  it('fails at once on a refusal (4xx), and after five failed polls in a row', async () => {
    const options = () => ({
      timeoutMs: 600_000,
      signal: new AbortController().signal,
      clock: fakeClock().clock,
      progress: recorder(),
    });
    const refused = spec([new ApiError(404, 'no deployment dep-1')]);
    await expect(follow(running('a'), refused, options())).rejects.toThrow('404 Not Found: no deployment dep-1');
    expect(refused.polls()).toBe(1);

    const unreachable = spec([new NetworkError('cannot reach http://127.0.0.1:3000: connection refused')]);
    await expect(follow(running('a'), unreachable, options())).rejects.toThrow('connection refused');
    expect(unreachable.polls()).toBe(5);
  });
});

describe('spinnerFrame', () => {
  it('rewrites its line in place: carriage return, clear, frame, status, elapsed time', () => {
    expect(spinnerFrame(0, 'IN_PROGRESS shop/staging', 42_000)).toBe(`${CLEAR_LINE}⠋ IN_PROGRESS shop/staging 42s`);
    expect(spinnerFrame(11, 'IN_PROGRESS shop/staging', 65_000)).toBe(`\r\x1b[2K⠙ IN_PROGRESS shop/staging 1m05s`);
  });
});
