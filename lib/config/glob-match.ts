/**
 * Matching a glob compiled at package time (lib/config/glob-compile.ts): the config carries the glob's text
 * and the source of the regular expression picomatch made of it, so a function never loads picomatch.
 */

export type GlobMatcher = (value: string) => boolean;

// Few globs, from config: each source is built once per container, not once per value.
const regexps = new Map<string, RegExp>();

function regexpOf(source: string): RegExp {
  let regexp = regexps.get(source);
  if (!regexp) {
    // Not global or sticky: test() keeps no state between values.
    regexp = new RegExp(source);
    regexps.set(source, regexp);
  }
  return regexp;
}

/**
 * What picomatch's matcher accepts (picomatch.test): never the empty string, the glob's own text, and what its
 * regular expression accepts. Throws when `source` is not a regular expression.
 */
export function compiledGlobMatcher(glob: string, source: string): GlobMatcher {
  const regexp = regexpOf(source);
  return (value) => value !== '' && (value === glob || regexp.test(value));
}
