import { en } from 'zod/locales';
import * as z from 'zod/mini';

// zod/mini carries no messages of its own ("Invalid input"); a 4xx and a dead letter name the reason in
// the same English as zod's classic build, which sets this same locale when it loads.
z.config(en());

/**
 * A check that exactly one of two optional fields is given: with neither, the first is required; with both,
 * the second is named.
 */
export function exactlyOneOf<Field extends string>(first: Field, second: Field) {
  return z.superRefine((input: Partial<Record<Field, unknown>>, ctx) => {
    if ((input[first] === undefined) === (input[second] === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [input[first] === undefined ? first : second],
        message:
          input[first] === undefined
            ? `is required: give exactly one of ${first} or ${second}`
            : `give exactly one of ${first} or ${second}, not both`,
      });
    }
  });
}
