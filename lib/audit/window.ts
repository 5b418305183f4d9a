const DAY_MS = 86_400_000;

/**
 * The window a listing reads, as the UTC ISO strings entries are sorted by. A listing reads one day
 * partition after another, so the window never reaches past what can exist: nothing is older than
 * the retention (`oldest`, which a cursor may not go below either) and nothing is newer than now.
 */
export function auditWindow(
  query: { since?: string | undefined; until?: string | undefined },
  now: Date,
  retentionDays: number,
): { since: string; until: string; oldest: string } {
  const oldest = now.getTime() - retentionDays * DAY_MS;
  const since = query.since === undefined ? now.getTime() - DAY_MS : Math.max(Date.parse(query.since), oldest);
  const until = query.until === undefined ? now.getTime() : Math.min(Date.parse(query.until), now.getTime());
  return {
    since: new Date(since).toISOString(),
    until: new Date(Math.max(until, since)).toISOString(),
    oldest: new Date(oldest).toISOString(),
  };
}
