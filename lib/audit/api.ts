import { z } from 'zod';
import { isoTime } from '../backup/api';

/** `GET /v1/audit`'s query. */
export const auditQuery = z
  .strictObject(
    {
      since: isoTime.describe('Entries at or after this time (ISO 8601); default 24 hours ago.').optional(),
      until: isoTime.describe('Entries at or before this time (ISO 8601); default now.').optional(),
      limit: z.coerce
        .number({ error: 'expected an integer from 1 to 500' })
        .int()
        .min(1)
        .max(500)
        .default(100)
        .describe('Entries per page.'),
      cursor: z.string().max(2_048).describe('The cursor of the previous page, to read the next one.').optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'expected a JSON object',
    },
  )
  .superRefine((query, ctx) => {
    if (query.since && query.until && Date.parse(query.since) > Date.parse(query.until)) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'is before since' });
    }
  });

const DAY_MS = 86_400_000;

/**
 * The window a listing reads, as the UTC ISO strings entries are sorted by. Nothing older than the
 * retention exists any more, so `since` is never earlier: an old `since` costs no empty day reads.
 */
export function auditWindow(
  query: { since?: string | undefined; until?: string | undefined },
  now: Date,
  retentionDays: number,
): { since: string; until: string } {
  const oldest = now.getTime() - retentionDays * DAY_MS;
  const since = query.since === undefined ? now.getTime() - DAY_MS : Math.max(Date.parse(query.since), oldest);
  const until = query.until === undefined ? now.getTime() : Date.parse(query.until);
  return { since: new Date(since).toISOString(), until: new Date(Math.max(until, since)).toISOString() };
}
