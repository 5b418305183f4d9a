import { type ClaimMatcher, type OidcRule, PERSON_ROLES } from '../auth/oidc-rules';
import { compiledClaimMatcher, isGlob } from './glob-compile';

/**
 * What config refuses in an OIDC rule beyond its own keys, judged on the claim matchers as the functions will
 * build them from the compiled config (what they accept), never on the text alone.
 */

/** The values a matcher names one by one, `12345` or `{12345,67890}`; undefined for any other glob. */
export function namedValues(matcher: string): string[] | undefined {
  if (!isGlob(matcher)) return [matcher];
  const list = /^\{([^{}]*)\}$/.exec(matcher)?.[1];
  const values = list?.split(',');
  if (!values?.every((value) => value !== '' && !isGlob(value))) return undefined;
  const compiled = compiledClaimMatcher(matcher);
  // What the compiled glob accepts, not what the text looks like, is what approvals would rest on.
  return compiled && values.every((value) => compiled.matches(value)) ? values : undefined;
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
  const compiled: Record<string, ClaimMatcher> = {};
  for (const [claim, matcher] of Object.entries(rule.claims)) {
    const compiledMatcher = compiledClaimMatcher(matcher);
    // A glob that does not compile is refused with its own key path; pinning is judged on rules that compile.
    if (!compiledMatcher) return [];
    compiled[claim] = compiledMatcher;
  }
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
