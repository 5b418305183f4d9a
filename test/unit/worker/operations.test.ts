import { Unprocessable } from '../../../lib/errors';
import { main, USAGE } from '../../../lib/worker/cli';
import { removedAfter } from '../../../lib/worker/drills';

/** Usage mistakes in prune and the drills are refused before any request: no endpoint is reachable here. */
async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' },
  });
  return { code, out, firstError: err.join('\n').split('\n')[0] };
}

describe('slipway-worker prune, drill-volume and drill-postgres: their arguments', () => {
  it.each([
    [
      'prune without --retention',
      ['prune', '--bucket', 'b', '--prefix', 'p'],
      'slipway-worker: --retention is required',
    ],
    [
      'prune with an unknown granularity',
      ['prune', '--bucket', 'b', '--prefix', 'p', '--retention', 'daily=7,yearly=1'],
      'slipway-worker: --retention: "yearly=1" is not daily=N, weekly=N or monthly=N',
    ],
    [
      'prune with a negative count',
      ['prune', '--bucket', 'b', '--prefix', 'p', '--retention', 'daily=7,weekly=-4,monthly=0'],
      'slipway-worker: --retention: weekly: expected an integer >= 0, received "-4"',
    ],
    [
      'prune without --prefix',
      ['prune', '--bucket', 'b', '--retention', 'daily=7,weekly=4,monthly=0'],
      'slipway-worker: --prefix is required',
    ],
    [
      'prune with a value for --dry-run',
      ['prune', '--bucket', 'b', '--prefix', 'p', '--retention', 'daily=1,weekly=0,monthly=0', '--dry-run=yes'],
      "slipway-worker: Option '--dry-run' does not take an argument",
    ],
    ['drill-volume without --bucket', ['drill-volume', '--prefix', 'p'], 'slipway-worker: --bucket is required'],
    [
      'drill-volume with a zero --max-rto',
      ['drill-volume', '--bucket', 'b', '--prefix', 'p', '--max-rto', '0'],
      'slipway-worker: --max-rto: expected a number of seconds above 0, received "0"',
    ],
    [
      'drill-volume with a --max-rto that is no number',
      ['drill-volume', '--bucket', 'b', '--prefix', 'p', '--max-rto', '4h'],
      'slipway-worker: --max-rto: expected a number of seconds above 0, received "4h"',
    ],
    [
      'drill-postgres without a server',
      ['drill-postgres', '--bucket', 'b', '--prefix', 'p'],
      'slipway-worker: give exactly one of --url or --secret',
    ],
    [
      'drill-postgres with both --url and --secret',
      ['drill-postgres', '--bucket', 'b', '--prefix', 'p', '--url', 'postgres://a@h/d', '--secret', 's'],
      'slipway-worker: give exactly one of --url or --secret',
    ],
    [
      'drill-postgres with a bad --max-rto before its secret is read',
      ['drill-postgres', '--bucket', 'b', '--prefix', 'p', '--secret', 's', '--max-rto=-1'],
      'slipway-worker: --max-rto: expected a number of seconds above 0, received "-1"',
    ],
  ])('given %s, when run, then it exits 2 naming the mistake, and prints no result', async (_label, args, message) => {
    // when
    const result = await run(args);

    // then
    expect(result.code).toBe(2);
    expect(result.firstError).toBe(message);
    expect(result.out).toEqual([]);
  });

  it('lists the new commands in its usage', () => {
    expect(USAGE).toContain(
      'slipway-worker prune --bucket B --prefix P --retention daily=N,weekly=N,monthly=N [--dry-run]',
    );
    expect(USAGE).toContain('slipway-worker drill-volume --bucket B --prefix P [--dir SCRATCH] [--max-rto SECONDS]');
    expect(USAGE).toContain(
      'slipway-worker drill-postgres --bucket B --prefix P (--url URL | --secret SECRET_ID) [--max-rto SECONDS]',
    );
  });
});

describe('removedAfter: a drill removes its scratch whatever the outcome', () => {
  const removal = () => {
    const calls: string[] = [];
    return { calls, remove: async () => void calls.push('removed') };
  };

  it('given work that succeeds, when run, then the scratch is removed and the value returned', async () => {
    const { calls, remove } = removal();
    await expect(removedAfter('the scratch directory /tmp/d', async () => 42, remove)).resolves.toBe(42);
    expect(calls).toEqual(['removed']);
  });

  it('given work that fails, when run, then the scratch is removed and the failure kept', async () => {
    const { calls, remove } = removal();
    const failure = new Unprocessable('dump d: SHA-256 differs');
    await expect(removedAfter('the scratch database x', () => Promise.reject(failure), remove)).rejects.toBe(failure);
    expect(calls).toEqual(['removed']);
  });

  it('given a removal that fails after a failure, when run, then the reason tells both', async () => {
    const failed = removedAfter(
      'the scratch database slipway_drill_x',
      () => Promise.reject(new Unprocessable('dump d: SHA-256 differs')),
      () => Promise.reject(new Error('connection refused')),
    );
    await expect(failed).rejects.toThrow(
      'dump d: SHA-256 differs; the scratch database slipway_drill_x was not removed: Error: connection refused',
    );
  });

  it('given a removal that fails after a success, when run, then the drill fails saying what was left', async () => {
    const failed = removedAfter(
      'the scratch directory /tmp/d',
      async () => 42,
      () => Promise.reject(new Error('EBUSY')),
    );
    await expect(failed).rejects.toThrow('the scratch directory /tmp/d was not removed: Error: EBUSY');
  });
});
