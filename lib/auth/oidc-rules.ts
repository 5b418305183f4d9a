import picomatch from 'picomatch';
import { OIDC_NAME_PREFIX, type Principal, type Role, type Scope } from './principal';

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
  /** The claim naming the person behind a token (see personClaimOf); absent: the issuer's default. */
  personClaim?: string | undefined;
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

// `dot`: `*` also matches a segment starting with a dot; `windows: false`: a backslash is never a separator.
const GLOB_OPTIONS = { dot: true, nonegate: true, strictBrackets: true, windows: false } as const;

export function isGlob(matcher: string): boolean {
  return picomatch.scan(matcher).isGlob;
}

/** `a|b` outside `(…)`: picomatch makes it an alternation of the whole pattern, which nobody reads it as. */
function topLevelBar(matcher: string): boolean {
  let depth = 0;
  for (let index = 0; index < matcher.length; index += 1) {
    const char = matcher[index];
    if (char === '\\') index += 1;
    else if (char === '(') depth += 1;
    else if (char === ')') depth = Math.max(0, depth - 1);
    else if (char === '|' && depth === 0) return true;
  }
  return false;
}

/** Why a claim matcher cannot be used, or undefined when it can. */
export function claimMatcherProblem(matcher: string): string | undefined {
  if (matcher.startsWith('!')) {
    return 'a leading ! (negation) is not supported: a rule names what may call, so list that instead';
  }
  if (/^[*/]+$/.test(matcher)) return 'it matches every value; leave the claim out instead';
  if (!isGlob(matcher)) return undefined;
  if (topLevelBar(matcher)) return 'a | outside (…) would match either whole side; write {a,b} for alternatives';
  try {
    picomatch.makeRe(matcher, GLOB_OPTIONS);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/ - use .*$/, '');
  }
}

/** Characters picomatch never reads as syntax: a run of them opening a glob must open every value it matches. */
const LITERAL_PREFIX = /^[A-Za-z0-9_.:/-]*/;

/** A claim's matcher as compiled: what it accepts, and a prefix every accepted value starts with. */
export interface ClaimMatcher {
  matches: (value: string) => boolean;
  /** True when the matcher accepts exactly one value, `prefix` itself. */
  exact: boolean;
  prefix: string;
}

export function compileMatcher(matcher: string): ClaimMatcher {
  if (!isGlob(matcher)) return { matches: (value) => value === matcher, exact: true, prefix: matcher };
  const glob = picomatch(matcher, GLOB_OPTIONS);
  const prefix = LITERAL_PREFIX.exec(matcher)?.[0] ?? '';
  // The prefix is checked here, not left to the glob: owner pinning rests on it, whatever picomatch makes of the rest.
  return { matches: (value) => value.startsWith(prefix) && glob(value), exact: false, prefix };
}

export interface CompiledRule {
  rule: OidcRule;
  index: number;
  matchers: Array<[claim: string, matcher: ClaimMatcher]>;
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

/** The values a matcher names one by one, `12345` or `{12345,67890}`; undefined for any other glob. */
export function namedValues(matcher: string): string[] | undefined {
  if (!isGlob(matcher)) return [matcher];
  const list = /^\{([^{}]*)\}$/.exec(matcher)?.[1];
  const values = list?.split(',');
  if (!values?.every((value) => value !== '' && !isGlob(value))) return undefined;
  const compiled = compileMatcher(matcher);
  // What the compiled glob accepts, not what the text looks like, is what approvals would rest on.
  return values.every((value) => compiled.matches(value)) ? values : undefined;
}

/**
 * A rule granting approver or admin makes callers whose approvals count one per person, so it must pin
 * the issuer's person claim to values named one by one; the caller's person is then that claim's value.
 */
export function personRuleProblem(rule: Pick<OidcRule, 'claims' | 'roles'>, personClaim: string): string | undefined {
  const granted = rule.roles.filter((role) => PERSON_ROLES.includes(role));
  if (granted.length === 0) return undefined;
  const matcher = rule.claims[personClaim];
  if (matcher !== undefined && namedValues(matcher) !== undefined) return undefined;
  return (
    `grants ${granted.join(' and ')}, and approvals count once per person, so it must pin ${personClaim} ` +
    `(the claim that names one person) to values named one by one, such as ${personClaim}: "12345" or "{12345,67890}"`
  );
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

/** A GitHub user or organization name (enterprise managed users add `_<shortcode>`): never glob syntax. */
const GITHUB_OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** The owner every value a compiled `owner/…` matcher accepts is under, if there is one. */
function pinnedOwner(matcher: ClaimMatcher, lead = ''): string | undefined {
  if (!matcher.prefix.startsWith(lead)) return undefined;
  const rest = matcher.prefix.slice(lead.length);
  const slash = rest.indexOf('/');
  const owner = slash > 0 ? rest.slice(0, slash) : '';
  return GITHUB_OWNER.test(owner) ? owner : undefined;
}

/** Text before the first `/` that could name more than one owner: braces, extglobs, alternations. */
const OWNER_GLOB = /[{}()|]/;

/** Claims whose value starts with the owner, and what stands before it there. */
const OWNER_PATH_CLAIMS = { repository: '', sub: 'repo:' } as const;

export interface RuleProblem {
  /** Below the rule: `['claims']` or `['claims', '<claim>']`. */
  path: string[];
  message: string;
}

/**
 * Every repository on github.com can get a token from GitHub's issuer with any audience it likes, so a
 * rule of that issuer must pin the owner, judged on the compiled matchers (what they accept), never on
 * the text: an exact repository_owner, repository_owner_id or repository_id, or a repository (or
 * `sub: repo:…`) matcher every accepted value of which starts with `<owner>/`. Braces, extglobs and
 * `|` before the first `/` of those two are refused outright: they are how a glob names another owner.
 */
export function githubRuleProblems(rule: Pick<OidcRule, 'claims'>): RuleProblem[] {
  const problems: RuleProblem[] = [];
  for (const [claim, lead] of Object.entries(OWNER_PATH_CLAIMS)) {
    const matcher = rule.claims[claim];
    if (matcher === undefined || !matcher.startsWith(lead)) continue;
    const owner = matcher.slice(lead.length).split('/')[0] ?? '';
    if (matcher.includes('/') && OWNER_GLOB.test(owner)) {
      problems.push({
        path: ['claims', claim],
        message: `braces, extglobs and | before the first / could name another owner: write ${lead}<owner>/… with the owner spelled out, one rule per owner`,
      });
    }
  }
  if (problems.length > 0) return problems;
  const compiled = Object.fromEntries(
    Object.entries(rule.claims).map(([claim, matcher]) => [claim, compileMatcher(matcher)]),
  );
  const exact = (claim: string) => compiled[claim]?.exact === true;
  const pinned =
    exact('repository_owner') ||
    exact('repository_owner_id') ||
    exact('repository_id') ||
    Object.entries(OWNER_PATH_CLAIMS).some(([claim, lead]) => {
      const matcher = compiled[claim];
      return matcher !== undefined && pinnedOwner(matcher, lead) !== undefined;
    });
  if (pinned) return [];
  return [
    {
      path: ['claims'],
      message:
        'every GitHub repository can get a token from this issuer, so a rule must pin the owner: match ' +
        'repository: <owner>/<repo or glob>, repository_owner, repository_owner_id, repository_id, or sub: repo:<owner>/…',
    },
  ];
}
