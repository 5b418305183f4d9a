import * as z from 'zod/mini';
import '../errors/validation';
import { NAME_PATTERN } from '../config/names';
import { OIDC_NAME_PREFIX, ROLES, TOKEN_NAME_PATTERN } from './principal';

/**
 * The tokens document (the tokens secret, or the local tokens file), checked where it is read: apart
 * from the bearer token checks of every request, so a route that reads no tokens bundles no schema.
 * zod/mini, as every route that reads tokens bundles it; its messages are the classic build's English.
 */

export { TOKEN_NAME_PATTERN };

/** App or environment names a token is limited to: absent is all, so an empty list would mean nothing and is refused. */
const scopeNames = z.array(z.string().check(z.regex(NAME_PATTERN))).check(z.minLength(1));

export const tokenEntrySchema = z.strictObject({
  name: z.string().check(
    z.regex(TOKEN_NAME_PATTERN),
    // `oidc:<issuer host>:<sub>` names OIDC callers; a stored token must never pass for one (approvals compare names).
    z.refine(
      (name) => !name.startsWith(OIDC_NAME_PREFIX),
      `names starting with ${OIDC_NAME_PREFIX} are kept for OIDC callers`,
    ),
  ),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  roles: z.array(z.enum(ROLES)).check(z.minLength(1)),
  /** Limits the token to these apps; absent: every app. */
  apps: z.optional(scopeNames),
  /** Limits the token to these environments (of any of its apps); absent: every environment. */
  environments: z.optional(scopeNames),
  createdAt: z.optional(z.string()),
});
export type TokenEntry = z.infer<typeof tokenEntrySchema>;

export const tokenDocumentSchema = z.object({ tokens: z.array(tokenEntrySchema) });
export type TokenDocument = z.infer<typeof tokenDocumentSchema>;
