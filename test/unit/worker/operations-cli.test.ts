import { main, USAGE } from '../../../lib/worker/cli';

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
