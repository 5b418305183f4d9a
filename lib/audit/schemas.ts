import * as z from 'zod';
import { isoTime } from '../backup/schemas';
import { cursorParameter } from '../store/cursor';

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
      cursor: z.optional(cursorParameter),
      actor: z
        .string()
        .min(1, 'expected a principal name or a trigger such as anonymous, schedule or alarm:<name>')
        .max(200, 'expected at most 200 characters')
        .describe(
          'Only entries of this actor: a principal name, anonymous, or a trigger (schedule, ecr-push, alarm:<name>…).',
        )
        .optional(),
      decision: z
        .enum(['allowed', 'denied'], { error: 'expected allowed or denied' })
        .describe('Only entries allowed, or only those denied (401 and 403).')
        .optional(),
      action: z
        .string()
        .regex(
          /^[A-Za-z][A-Za-z0-9.:_-]{0,99}$/,
          'expected a route name such as createRestore or an action such as backup.delete',
        )
        .describe(
          "Only entries of this action: a route's operation name (createRestore) or what Slipway did (backup.delete).",
        )
        .optional(),
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
