/** How often a page reads its data again, and how it backs off when reads fail. */

export const BOARD_INTERVAL_MS = 5_000;
export const PAGE_INTERVAL_MS = 15_000;
export const MAX_RETRY_MS = 60_000;

/**
 * The wait before the next read: the page's interval while reads succeed; after the n-th failure in a
 * row, the interval doubled n times, never more than a minute.
 */
export function nextDelay(intervalMs: number, failures: number, maxMs = MAX_RETRY_MS): number {
  if (failures <= 0) return intervalMs;
  return Math.min(maxMs, intervalMs * 2 ** failures);
}
