import * as z from 'zod/mini';
import '../errors/validation';
import { isoTime } from '../backup/schemas';
import { cursorParameter } from '../store/cursor';

/**
 * `GET /v1/audit`'s query, in zod/mini with the classic build's English (lib/errors/validation.ts); built in
 * a call marked pure, so only a bundle that uses it carries it.
 */
export const auditQuery = /* @__PURE__ */ (() =>
  z
    .strictObject(
      {
        since: z.optional(isoTime.check(z.describe('Entries at or after this time (ISO 8601); default 24 hours ago.'))),
        until: z.optional(isoTime.check(z.describe('Entries at or before this time (ISO 8601); default now.'))),
        limit: z
          ._default(
            z.coerce
              .number({ error: 'expected an integer from 1 to 500' })
              .check(z.int(), z.minimum(1), z.maximum(500)),
            100,
          )
          .check(z.describe('Entries per page.')),
        cursor: z.optional(cursorParameter),
        actor: z.optional(
          z
            .string()
            .check(
              z.minLength(1, 'expected a principal name or a trigger such as anonymous, schedule or alarm:<name>'),
              z.maxLength(200, 'expected at most 200 characters'),
              z.describe(
                'Only entries of this actor: a principal name, anonymous, or a trigger (schedule, ecr-push, alarm:<name>…).',
              ),
            ),
        ),
        decision: z.optional(
          z
            .enum(['allowed', 'denied'], { error: 'expected allowed or denied' })
            .check(z.describe('Only entries allowed, or only those denied (401 and 403).')),
        ),
        action: z.optional(
          z
            .string()
            .check(
              z.regex(
                /^[A-Za-z][A-Za-z0-9.:_-]{0,99}$/,
                'expected a route name such as createRestore or an action such as backup.delete',
              ),
              z.describe(
                "Only entries of this action: a route's operation name (createRestore) or what Slipway did (backup.delete).",
              ),
            ),
        ),
      },
      {
        error: (issue) =>
          issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : 'expected a JSON object',
      },
    )
    .check(
      z.superRefine((query, ctx) => {
        if (query.since && query.until && Date.parse(query.since) > Date.parse(query.until)) {
          ctx.addIssue({ code: 'custom', path: ['until'], message: 'is before since' });
        }
      }),
    ))();
