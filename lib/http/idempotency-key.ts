import { InvalidInput } from '../errors';

/** What an `Idempotency-Key` header may hold: what the registry documents and the route chain checks. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The request's `Idempotency-Key`, checked: a mutating route's retry returns the first answer (lib/store/idempotency.ts). */
export function idempotencyKey(headers: Record<string, string>): string | undefined {
  const key = headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new InvalidInput('headers.idempotency-key: expected 1 to 255 printable ASCII characters', {
      details: [
        { location: 'headers', field: 'idempotency-key', message: 'expected 1 to 255 printable ASCII characters' },
      ],
    });
  }
  return key;
}
