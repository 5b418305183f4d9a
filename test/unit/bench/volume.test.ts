import {
  describeRatio,
  MiB,
  PART_SIZE,
  pairedRatio,
  parseTimes,
  planTree,
  roundRatios,
  summarizePlan,
} from '../../../scripts/bench-volume';

describe('the volume bench tree', () => {
  const plan = planTree(1024);
  const whole = summarizePlan(plan);
  const quarter = summarizePlan(plan, 'shard-0');

  it('comes to the size asked for, in a mix of sizes and contents', () => {
    expect(whole.bytes).toBeGreaterThan(1023.9 * MiB);
    expect(whole.bytes).toBeLessThanOrEqual(1024 * MiB);
    expect(whole.files).toBeGreaterThan(20_000);
    expect(whole.overPart).toBeGreaterThanOrEqual(4);
    expect(whole.randomShare).toBeGreaterThan(0.3);
    expect(whole.randomShare).toBeLessThan(0.6);
    expect(plan.files.some((file) => file.size === 0)).toBe(true);
    expect(plan.files.filter((file) => file.size > 0 && file.size <= 16 * 1024).length).toBeGreaterThan(10_000);
  });

  it('nests directories and links files, a directory and nothing', () => {
    expect(Math.max(...plan.files.map((file) => file.path.split('/').length))).toBeGreaterThanOrEqual(5);
    expect(whole.symlinks).toBeGreaterThan(100);
    expect(plan.symlinks).toContainEqual({ path: 'shard-0/current-logs', target: 'logs' });
    expect(plan.symlinks).toContainEqual({ path: 'shard-0/dangling.link', target: 'gone/away.txt' });
    const linked = plan.symlinks.find((link) => link.path.endsWith('previous.link'));
    expect(linked?.target).toMatch(/^\.\.\/mod-\d+\/file-\d+\.txt$/);
  });

  it('has the same mix at a quarter of the size in its first shard', () => {
    expect(quarter.bytes / whole.bytes).toBeCloseTo(0.25, 2);
    expect(quarter.files / whole.files).toBeCloseTo(0.25, 1);
    expect(quarter.overPart).toBeGreaterThanOrEqual(1);
    expect(quarter.randomShare).toBeCloseTo(whole.randomShare, 1);
  });

  it('is the same on every run', () => {
    expect(planTree(1024)).toEqual(plan);
    expect(plan.files.every((file) => file.size <= 5 * PART_SIZE)).toBe(true);
  });
});

describe('paired ratios', () => {
  const pair = { baselineMs: [100, 90, 120], oursMs: [125, 100, 100] };

  it('is baseline over ours per round, then the median', () => {
    expect(roundRatios(pair)).toEqual([0.8, 0.9, 1.2]);
    expect(pairedRatio(pair)).toBe(0.9);
    expect(describeRatio(pair)).toBe('0.90× (0.80, 0.90, 1.20)');
  });

  it('reads the children’s CPU from sh’s times', () => {
    expect(parseTimes('1m2.500000s 0m0.250000s')).toBeCloseTo(62_750);
    expect(() => parseTimes('0m0.0s')).toThrow('not a line of times');
  });
});
