import picomatch from 'picomatch';
import { OIDC_NAME_PREFIX, type Scope } from './scope';
import type { Principal, Role } from './tokens';

/**
 * The pure half of OIDC callers: which rule of an issuer a verified token's claims match, and the
 * principal that rule makes. The first matching rule wins; none matching is a 403 naming the claims.
 */

export interface OidcRule {
  /** Claim name → an exact value, or a picomatch glob (`refs/heads/release-*`, `{main,develop}`). */
  claims: Record<string, string>;
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
  rules: OidcRule[];
}

/** GitHub Actions: one issuer for every repository on github.com, so a rule must pin whose. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** Claims a 403 may quote: they say which workflow of which repository asked, and nothing secret. */
export const QUOTED_CLAIMS = ['repository', 'ref', 'environment', 'workflow', 'sub'] as const;

const MAX_QUOTED_LENGTH = 200;

// `dot`: `*` also matches a segment starting with a dot; `windows: false`: a backslash is never a separator.
const GLOB_OPTIONS = { dot: true, nonegate: true, strictBrackets: true, windows: false } as const;

export function isGlob(matcher: string): boolean {
  return picomatch.scan(matcher).isGlob;
}

/** Why a claim matcher cannot be used, or undefined when it can. */
export function claimMatcherProblem(matcher: string): string | undefined {
  if (matcher.startsWith('!')) {
    return 'a leading ! (negation) is not supported: a rule names what may call, so list that instead';
  }
  if (/^[*/]+$/.test(matcher)) return 'it matches every value; leave the claim out instead';
  if (!isGlob(matcher)) return undefined;
  try {
    picomatch.makeRe(matcher, GLOB_OPTIONS);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/ - use .*$/, '');
  }
}

type Matcher = (value: string) => boolean;

function compileMatcher(matcher: string): Matcher {
  if (!isGlob(matcher)) return (value) => value === matcher;
  const glob = picomatch(matcher, GLOB_OPTIONS);
  return (value) => glob(value);
}

export interface CompiledRule {
  rule: OidcRule;
  index: number;
  matchers: Array<[claim: string, matcher: Matcher]>;
}

/** Globs compiled once per container, not per request. */
export function compileRules(rules: ReadonlyArray<OidcRule>): CompiledRule[] {
  return rules.map((rule, index) => ({
    rule,
    index,
    matchers: Object.entries(rule.claims).map(([claim, matcher]) => [claim, compileMatcher(matcher)]),
  }));
}

/** The first rule all of whose claims match; a claim that is absent or not a string matches nothing. */
export function matchingRule(
  rules: ReadonlyArray<CompiledRule>,
  claims: Record<string, unknown>,
): CompiledRule | undefined {
  return rules.find(({ matchers }) =>
    matchers.every(([claim, matches]) => {
      const value = claims[claim];
      return typeof value === 'string' && matches(value);
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

export function oidcPrincipal(issuer: string, subject: string, rule: OidcRule): Principal {
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
  };
}

/** The part of a `owner/repo` matcher before the first slash, when it is a literal owner. */
function literalOwner(matcher: string, prefix = ''): string | undefined {
  if (!matcher.startsWith(prefix)) return undefined;
  const owner = matcher.slice(prefix.length).split('/')[0] ?? '';
  const hasRepo = matcher.slice(prefix.length).includes('/');
  return owner !== '' && hasRepo && !isGlob(owner) ? owner : undefined;
}

/**
 * Every repository on github.com can get a token from GitHub's issuer with any audience it likes, so a
 * rule of that issuer must pin the owner: a literal repository_owner, repository_owner_id or
 * repository_id, `repository: <owner>/…` or `sub: repo:<owner>/…` with a literal owner.
 */
export function unpinnedGitHubRule(rule: Pick<OidcRule, 'claims'>): string | undefined {
  const { claims } = rule;
  const literal = (claim: string) => claims[claim] !== undefined && !isGlob(claims[claim] as string);
  const pinned =
    literal('repository_owner') ||
    literal('repository_owner_id') ||
    literal('repository_id') ||
    (claims.repository !== undefined && literalOwner(claims.repository) !== undefined) ||
    (claims.sub !== undefined && literalOwner(claims.sub, 'repo:') !== undefined);
  if (pinned) return undefined;
  return (
    'every GitHub repository can get a token from this issuer, so a rule must pin the owner: match ' +
    'repository: <owner>/<repo or glob>, repository_owner, repository_owner_id, repository_id, or sub: repo:<owner>/…'
  );
}
