import { createRemoteJWKSet, customFetch, decodeJwt, errors, type JWTPayload, jwtVerify } from 'jose';
import { Forbidden, Unauthenticated, UpstreamFailed } from '../errors';
import { fetchDiscoveryDocument, httpsEndpoint } from './oidc-discovery';

export { discoveryUrl } from './oidc-discovery';

import {
  type CompiledRule,
  compileRules,
  describeClaims,
  matchingRule,
  type OidcIssuer,
  oidcPersonOf,
  oidcPrincipal,
} from './oidc-rules';
import type { Principal } from './principal';

/**
 * OIDC callers (GitHub Actions and other issuers): a bearer that is a JWT is verified against the
 * keys its issuer publishes, then matched against that issuer's rules in auth.oidc.
 *
 * Why here and not in API Gateway: an HTTP API route has exactly one authorizer, and Slipway's routes
 * must also accept the hashed tokens of the tokens secret, which a JWT authorizer cannot check. So the
 * route chain does what API Gateway's JWT authorizer would, with the same checks: the issuer
 * (exactly, and its discovery document must name itself), the audience, the signature against the
 * issuer's JWKS (RS256 or ES256 only), and the expiry; plus a maximum token age.
 */

/** Turns a JWT into a principal, or throws 401 (not valid), 403 (no rule matches) or 502 (the issuer's keys cannot be read). */
export type OidcVerifier = (token: string) => Promise<Principal>;

export interface OidcVerifierOptions {
  /** Discovery and JWKS requests. Default: the global fetch. A test passes one that trusts its own CA. */
  fetch?: typeof fetch;
  /** Each request to an issuer, in milliseconds. */
  timeoutMs?: number;
  /** For tests: the time expiry and age are judged at. */
  now?: () => Date;
}

export const ALGORITHMS = ['RS256', 'ES256'] as const;
export const CLOCK_TOLERANCE_SECONDS = 60;
const DEFAULT_TIMEOUT_MS = 3_000;
/** Keys are read again after this long, or at once (after a 30 s cooldown) for a key id not seen before. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_COOLDOWN_MS = 30_000;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Three base64url parts: verified as a JWT. Tokens Slipway mints (`slw_…`) have no dot. */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

const quote = (value: unknown) => {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 199)}…` : text);
};

type KeySet = ReturnType<typeof createRemoteJWKSet>;

interface IssuerState {
  config: OidcIssuer;
  rules: CompiledRule[];
  /** Discovery once per container; a failure is not kept, so the next request tries again. */
  keys?: Promise<KeySet>;
}

async function discover(
  config: OidcIssuer,
  fetchImpl: typeof fetch,
  timeoutMs: number,
  hasCustomFetch: boolean,
): Promise<KeySet> {
  const document = await fetchDiscoveryDocument(config.issuer, fetchImpl, timeoutMs);
  return createRemoteJWKSet(httpsEndpoint(document, 'jwks_uri'), {
    timeoutDuration: timeoutMs,
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    ...(hasCustomFetch ? { [customFetch]: fetchImpl } : {}),
  });
}

/** jose's failures as Slipway's: the caller's token at fault is a 401 (never quoting it); the issuer at fault a 502. */
function verificationFailure(error: unknown, config: OidcIssuer): Error {
  if (!(error instanceof errors.JOSEError)) {
    return new UpstreamFailed(`cannot read the signing keys of issuer ${config.issuer}`, {
      cause: error,
      details: { issuer: config.issuer },
    });
  }
  const invalid = (why: string) => new Unauthenticated(`the OIDC token is not valid: ${why}`);
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      // jose says "expired" for a token past maxTokenAge too; its claim tells which.
      if ((error as errors.JWTExpired).claim === 'iat') {
        return invalid(`it was issued more than ${config.maxTokenAgeSeconds} s ago`);
      }
      return new Unauthenticated('the OIDC token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (reason === 'missing') return invalid(`it has no ${claim} claim`);
      if (claim === 'aud') return invalid(`it is for another audience than ${config.audience}`);
      if (claim === 'iss') return invalid(`it is from another issuer than ${config.issuer}`);
      if (claim === 'iat') {
        return invalid(`it was issued more than ${config.maxTokenAgeSeconds} s ago, or in the future`);
      }
      if (claim === 'nbf') return invalid('it is not valid yet');
      return invalid(`its ${claim} claim is not valid`);
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalid('its signature does not verify');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid(`no single signing key of issuer ${config.issuer} matches its key id and algorithm`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return invalid(`it is signed with an algorithm other than ${ALGORITHMS.join(' or ')}`);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return invalid('it is malformed');
    default:
      // ERR_JWKS_TIMEOUT, ERR_JWKS_INVALID, and a JWKS answer that is not 200: the issuer's side.
      return new UpstreamFailed(`cannot read the signing keys of issuer ${config.issuer}`, {
        cause: error,
        details: { issuer: config.issuer },
      });
  }
}

/**
 * One verifier per container: each issuer's discovery document is read once and its keys are cached
 * (jose re-reads them after 10 minutes, or for a key id it has not seen).
 */
export function oidcVerifier(issuers: ReadonlyArray<OidcIssuer>, options: OidcVerifierOptions = {}): OidcVerifier {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const states = new Map<string, IssuerState>(
    issuers.map((config) => [config.issuer, { config, rules: compileRules(config.rules) }]),
  );

  const keysOf = (state: IssuerState): Promise<KeySet> => {
    if (!state.keys) {
      const pending = discover(state.config, fetchImpl, timeoutMs, options.fetch !== undefined);
      state.keys = pending;
      pending.catch(() => {
        if (state.keys === pending) state.keys = undefined;
      });
    }
    return state.keys;
  };

  return async (token) => {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new Unauthenticated('the bearer token looks like a JWT but is malformed');
    }
    const state = typeof unverified.iss === 'string' ? states.get(unverified.iss) : undefined;
    if (!state) {
      throw new Unauthenticated(
        unverified.iss === undefined
          ? 'the OIDC token names no issuer'
          : `the OIDC token's issuer ${quote(unverified.iss)} is not one auth.oidc trusts`,
      );
    }
    const { config } = state;
    const keys = await keysOf(state);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [...ALGORITHMS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: config.maxTokenAgeSeconds,
        requiredClaims: ['sub', 'exp', 'iat'],
        ...(options.now ? { currentDate: options.now() } : {}),
      }));
    } catch (error) {
      throw verificationFailure(error, config);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new Unauthenticated('the OIDC token is not valid: its sub claim is not a string');
    }
    const match = matchingRule(state.rules, payload);
    if (!match) {
      const claims = describeClaims(payload);
      throw new Forbidden(`no rule of issuer ${config.issuer} matches this token's claims (${claims.text})`, {
        details: { issuer: config.issuer, claims: claims.quoted },
      });
    }
    return oidcPrincipal(config.issuer, payload.sub, match.rule, oidcPersonOf(config, payload));
  };
}
