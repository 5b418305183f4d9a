import * as z from 'zod/mini';
import { InvalidInput } from '../errors';

/**
 * Cursors of paged listings: a page's LastEvaluatedKey as base64url JSON, opaque to callers. A cursor
 * comes back from the caller, so it is decoded only into a key of exactly the shape the listing writes:
 * DynamoDB refuses an ExclusiveStartKey of another type, with other attributes or outside the query's
 * key condition with a ValidationException (DynamoDB API Reference, Query, ExclusiveStartKey), which
 * must be the caller's 400 and not a 500; and a key of another listing must not silently read elsewhere.
 */

/** `2026-12-05T09:00:00.000Z`, as toISOString writes the times sort keys start with. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A time exactly as toISOString writes it: a real date, not just its shape. */
export function isIsoTime(value: string): boolean {
  if (!ISO_TIME.test(value)) return false;
  const at = Date.parse(value);
  return !Number.isNaN(at) && new Date(at).toISOString() === value;
}

/** `<ISO time>#<id>`: a sort key of the byEnvironment index, split; undefined for anything else. */
export function timeSortKey(value: string): { at: string; id: string } | undefined {
  const at = value.slice(0, 24);
  const id = value.slice(25);
  return value[24] === '#' && isIsoTime(at) && id !== '' ? { at, id } : undefined;
}

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : undefined;
}

/** The query parameter's own check: base64url only, so nothing else reaches the decoder. */
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]+$/;

/** `?cursor=` of every paged listing; what it holds is checked by the listing's store. Marked pure: a bundle without a listing drops it. */
export const cursorParameter = /* @__PURE__ */ (() =>
  z
    .string()
    .check(
      z.maxLength(2_048, 'expected a cursor from a previous page'),
      z.regex(CURSOR_PATTERN, 'expected a cursor from a previous page'),
    )
    .register(z.globalRegistry, { description: 'The cursor of the previous page, to read the next one.' }))();

/**
 * The key a cursor holds, if `key` (a strict schema of the listing's key attributes) accepts it;
 * otherwise a 400 naming query.cursor with `why`.
 */
export function decodeCursor<T>(
  cursor: string,
  key: z.core.$ZodType<T>,
  why = 'is not a cursor this listing returned',
): T {
  let parsed: unknown;
  try {
    parsed = CURSOR_PATTERN.test(cursor) ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  const result = z.safeParse(key, parsed);
  if (result.success) return result.data;
  throw new InvalidInput(`query.cursor: ${why}`, {
    details: [{ location: 'query', field: 'cursor', message: 'expected a cursor from a previous page of this query' }],
  });
}
