import { BOARD_INTERVAL_MS, MAX_RETRY_MS, nextDelay, PAGE_INTERVAL_MS } from '../../../console/src/polling';

describe('when a page reads its data again', () => {
  it('reads the board and deployments every 5 s, the other pages every 15 s, while reads succeed', () => {
    expect(nextDelay(BOARD_INTERVAL_MS, 0)).toBe(5_000);
    expect(nextDelay(PAGE_INTERVAL_MS, 0)).toBe(15_000);
  });

  it('doubles the wait after each failure in a row, up to a minute', () => {
    const schedule = [1, 2, 3, 4, 5, 6].map((failures) => nextDelay(BOARD_INTERVAL_MS, failures));
    expect(schedule).toEqual([10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
    expect([1, 2, 3].map((failures) => nextDelay(PAGE_INTERVAL_MS, failures))).toEqual([30_000, 60_000, 60_000]);
    expect(MAX_RETRY_MS).toBe(60_000);
  });
});
