import { compiledGlobMatcher } from '../config/glob-match';
import { OIDC_NAME_PREFIX, type Principal, type Role, type Scope } from './principal';

/**
 * The pure half of OIDC callers: which rule of an issuer a verified token's claims match, and the
 * principal that rule makes. The first matching rule wins; none matching is a 403 naming the claims.
 */

export interface OidcRule {
  /** Claim name → an exact value, or a picomatch glob (`refs/heads/release-*`, `{main,develop}`). */
  claims: Record<string, string>;
  /** Claim name → the regular expression source its glob compiled to at package time; exact values have none. */
  claimRegExps: Record<string, string>;
  roles: Role[];
  apps?: string[] | undefined;
  environments?: string[] | undefined;
  excludeEnvironments?: string[] | undefined;
}

export interface OidcIssuer {
  /** Exactly the `iss` its tokens carry; https. */
  issuer: string;
  /** The `aud` its tokens must carry. */
  audience: string;
  /** Tokens issued (`iat`) longer ago than this are refused, whatever their `exp`. */
  maxTokenAgeSeconds: number;
  /** The claim naming the person behind a token (see personClaimOf); absent: the issuer's default. */
  personClaim?: string | undefined;
  /** People sign in to the web console with it; its audience is the console's client id. */
  console?: boolean | undefined;
  rules: OidcRule[];
}

/** GitHub Actions: one issuer for every repository on github.com, so a rule must pin whose. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

export const isGitHubIssuer = (issuer: string) => issuer.replace(/\/+$/, '') === GITHUB_ACTIONS_ISSUER;

/**
 * GitHub's numeric id of the user whose action started the run (GitHub docs, OpenID Connect reference,
 * "OIDC token claims"): it stays with the person, where `actor` is a login that can be renamed and taken
 * by someone else, and `sub` changes with branch and environment.
 */
export const GITHUB_PERSON_CLAIM = 'actor_id';
/** Other issuers: `sub`, which names the person for an identity provider of people (not for CI, see personClaim). */
export const DEFAULT_PERSON_CLAIM = 'sub';

/** Roles whose callers count as people: approvals are counted per person, and admin may approve. */
export const PERSON_ROLES: ReadonlyArray<Role> = ['approver', 'admin'];

/** Claims a 403 may quote: they say which workflow of which repository asked, and nothing secret. */
export const QUOTED_CLAIMS = ['repository', 'ref', 'environment', 'workflow', 'sub'] as const;

const MAX_QUOTED_LENGTH = 200;

/** Characters picomatch never reads as syntax: a run of them opening a glob must open every value it matches. */
const LITERAL_PREFIX = /^[A-Za-z0-9_.:/-]*/;

/** A claim's matcher as compiled: what it accepts, and a prefix every accepted value starts with. */
export interface ClaimMatcher {
  matches: (value: string) => boolean;
  /** True when the matcher accepts exactly one value, `prefix` itself. */
  exact: boolean;
  prefix: string;
}

/** A claim's matcher from its text and, for a glob, the regular expression source it compiled to at package time. */
export function claimMatcher(matcher: string, source: string | undefined): ClaimMatcher {
  if (source === undefined) return { matches: (value) => value === matcher, exact: true, prefix: matcher };
  const glob = compiledGlobMatcher(matcher, source);
  const prefix = LITERAL_PREFIX.exec(matcher)?.[0] ?? '';
  // The prefix is checked here, not left to the glob: owner pinning rests on it, whatever picomatch made of the rest.
  return { matches: (value) => value.startsWith(prefix) && glob(value), exact: false, prefix };
}

/** Every claim of a rule as compiled: a glob by the source config carries for it, any other value exactly. */
export function claimMatchers(rule: Pick<OidcRule, 'claims' | 'claimRegExps'>): Array<[claim: string, ClaimMatcher]> {
  return Object.entries(rule.claims).map(([claim, matcher]) => [
    claim,
    claimMatcher(matcher, rule.claimRegExps[claim]),
  ]);
}

export interface CompiledRule {
  rule: OidcRule;
  index: number;
  matchers: Array<[claim: string, matcher: ClaimMatcher]>;
}

/** Matchers built once per container, not per request. */
export function compileRules(rules: ReadonlyArray<OidcRule>): CompiledRule[] {
  return rules.map((rule, index) => ({
    rule,
    index,
    matchers: claimMatchers(rule),
  }));
}

/** The first rule all of whose claims match; a claim that is absent or not a string matches nothing. */
export function matchingRule(
  rules: ReadonlyArray<CompiledRule>,
  claims: Record<string, unknown>,
): CompiledRule | undefined {
  return rules.find(({ matchers }) =>
    matchers.every(([claim, matcher]) => {
      const value = claims[claim];
      return typeof value === 'string' && matcher.matches(value);
    }),
  );
}

/** `repository=org/shop, ref=refs/heads/main`: only the claims that are safe to quote, and short. */
export function describeClaims(claims: Record<string, unknown>): { text: string; quoted: Record<string, string> } {
  const quoted: Record<string, string> = {};
  for (const claim of QUOTED_CLAIMS) {
    const value = claims[claim];
    if (typeof value !== 'string') continue;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is stripped.
    const clean = value.replace(/[\u0000-\u001f\u007f]/g, '?');
    quoted[claim] = clean.length > MAX_QUOTED_LENGTH ? `${clean.slice(0, MAX_QUOTED_LENGTH - 1)}…` : clean;
  }
  const text = Object.entries(quoted)
    .map(([claim, value]) => `${claim}=${value}`)
    .join(', ');
  return { text: text === '' ? 'none of repository, ref, environment, workflow, sub' : text, quoted };
}

/** `oidc:<issuer host>:<sub>`: who asked, as records and logs name them. */
export function oidcPrincipalName(issuer: string, subject: string): string {
  return `${OIDC_NAME_PREFIX}${new URL(issuer).host}:${subject}`;
}

/** The claim that names the person behind an issuer's tokens: always actor_id for GitHub's. */
export function personClaimOf(issuer: Pick<OidcIssuer, 'issuer' | 'personClaim'>): string {
  if (isGitHubIssuer(issuer.issuer)) return GITHUB_PERSON_CLAIM;
  return issuer.personClaim ?? DEFAULT_PERSON_CLAIM;
}

/** `oidc:<issuer host>:<claim>=<value>`: one person, whichever branch, environment or workflow the token came from. */
export function oidcPersonOf(
  issuer: Pick<OidcIssuer, 'issuer' | 'personClaim'>,
  claims: Record<string, unknown>,
): string | undefined {
  const claim = personClaimOf(issuer);
  const value = claims[claim];
  if (typeof value !== 'string' || value === '') return undefined;
  return `${OIDC_NAME_PREFIX}${new URL(issuer.issuer).host}:${claim}=${value}`;
}

export function oidcPrincipal(issuer: string, subject: string, rule: OidcRule, person?: string): Principal {
  const scope: Scope = {
    ...(rule.apps ? { apps: [...rule.apps] } : {}),
    ...(rule.environments ? { environments: [...rule.environments] } : {}),
    ...(rule.excludeEnvironments ? { excludeEnvironments: [...rule.excludeEnvironments] } : {}),
  };
  return {
    name: oidcPrincipalName(issuer, subject),
    roles: [...rule.roles],
    ...(Object.keys(scope).length > 0 ? { scope } : {}),
    issuer,
    ...(person ? { person } : {}),
  };
}
