import picomatch from 'picomatch';
import { type ClaimMatcher, claimMatcher, type OidcRule } from '../auth/oidc-rules';

/**
 * Globs compiled when the stage is packaged or started, as the rest of the config is validated then: the
 * config schema turns each OIDC claim glob and each release policy's tag glob into the source of the regular
 * expression picomatch makes of it, and the resolved config carries that source to the functions, which
 * match with lib/config/glob-match.ts and never load picomatch. Tests that build rules or policies by hand
 * compile them here too.
 */

// `dot`: `*` also matches a segment starting with a dot; `windows: false`: a backslash is never a separator.
const CLAIM_GLOB_OPTIONS = { dot: true, nonegate: true, strictBrackets: true, windows: false } as const;
// What the functions matched tags with on Lambda (Linux), whichever system packages the stage.
const TAG_GLOB_OPTIONS = { strictBrackets: true, windows: false } as const;

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
    picomatch.makeRe(matcher, CLAIM_GLOB_OPTIONS);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/ - use .*$/, '');
  }
}

/** The regular expression source of a claim glob; undefined for an exact value. Throws when the glob is not valid. */
export function compileClaimGlob(matcher: string): string | undefined {
  return isGlob(matcher) ? picomatch.makeRe(matcher, CLAIM_GLOB_OPTIONS).source : undefined;
}

/** A rule with the regular expression source of each of its claim globs. Throws when a glob is not valid. */
export function compileOidcRule<Rule extends Pick<OidcRule, 'claims'>>(
  rule: Rule,
): Rule & Pick<OidcRule, 'claimRegExps'> {
  const claimRegExps: Record<string, string> = {};
  for (const [claim, matcher] of Object.entries(rule.claims)) {
    const source = compileClaimGlob(matcher);
    if (source !== undefined) claimRegExps[claim] = source;
  }
  return { ...rule, claimRegExps };
}

/** A claim matcher as the functions will build it from the compiled config; undefined when the glob is not valid. */
export function compiledClaimMatcher(matcher: string): ClaimMatcher | undefined {
  try {
    return claimMatcher(matcher, compileClaimGlob(matcher));
  } catch {
    return undefined;
  }
}

/** Why a tag glob cannot be used, or undefined when it can (unbalanced brackets, braces and parentheses are refused). */
export function globProblem(glob: string): string | undefined {
  try {
    picomatch.makeRe(glob, TAG_GLOB_OPTIONS);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * A release policy with the regular expression source of its tag glob, when it has one that compiles: a policy
 * with a tag glob and no source matches no tag (lib/release/policy.ts).
 */
export function compileReleasePolicy<Policy extends { tags?: string | undefined }>(
  policy: Policy,
): Policy & { tagsRegExp?: string } {
  if (policy.tags === undefined || globProblem(policy.tags) !== undefined) return policy;
  return { ...policy, tagsRegExp: picomatch.makeRe(policy.tags, TAG_GLOB_OPTIONS).source };
}

// Paths under a volume's root: `*` also matches a name starting with a dot; a backslash is never a separator.
const PATH_GLOB_OPTIONS = { dot: true, nonegate: true, strictBrackets: true, windows: false } as const;

/** Why a glob of paths under a volume cannot be used, or undefined when it can. */
export function pathGlobProblem(glob: string): string | undefined {
  if (glob.startsWith('!')) return 'a leading ! (negation) is not supported: name the databases instead';
  if (glob.startsWith('/') || glob.startsWith('./')) {
    return 'paths are relative to the volume root, such as data/*.db, with no leading / or ./';
  }
  if (glob.split('/').includes('..')) return 'a .. segment never matches a path inside the volume';
  try {
    picomatch.makeRe(glob, PATH_GLOB_OPTIONS);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/ - use .*$/, '');
  }
}

/** The glob with the regular expression source picomatch makes of it, for lib/config/glob-match.ts. Throws when not valid. */
export function compilePathGlob(glob: string): { glob: string; source: string } {
  return { glob, source: picomatch.makeRe(glob, PATH_GLOB_OPTIONS).source };
}
