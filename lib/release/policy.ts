import type SemVer from 'semver/classes/semver.js';
import parse from 'semver/functions/parse.js';
import { compiledGlobMatcher } from '../config/glob-match';
import type { ReleasePolicy } from '../config/schema';

/**
 * Whether a pushed image tag deploys to an environment under its release policy, the way Keel decides.
 *
 * - The digest that already runs never deploys again.
 * - `tags: <glob>` (picomatch, strict brackets; compiled with the config, lib/config/glob-compile.ts) and
 *   `regexp: <pattern>` (unanchored unless the pattern anchors itself): the tag must match. A tag the running
 *   image already carries is a moving tag (`staging`) and is ignored unless `force: true`, which deploys every
 *   new digest pushed under a matching tag.
 * - `semver: major | minor | patch | all`: the tag must be `[v]MAJOR.MINOR.PATCH[-pre][+build]`, where `_` may
 *   stand for `+` (OCI tags cannot hold `+`; Helm's convention). Build metadata never orders versions.
 *   The running version is the highest version among the running tags. It must be exceeded, unless
 *   `force: true`, which deploys a matching tag even when it is not newer. `patch` stays within R's
 *   MAJOR.MINOR, `minor` within R's MAJOR, `major` and `all` take anything (pre-releases have their own
 *   switch, so the two are the same here). Pre-releases deploy only with `prerelease: true`. When no running
 *   tag is a version there is nothing to compare with, and any version passing the pre-release rule deploys.
 * - An empty tag (a push by digest only) never deploys, and a policy must name exactly one rule.
 *
 * Soak time and scan findings are separate gates, not decided here. Nothing here throws, whatever the strings.
 */

export interface PushedImage {
  tag: string;
  digest: string;
}

/** What runs in the environment now: its digest and the tags that digest carries in the registry (may be empty/unknown). */
export interface RunningImage {
  digest?: string;
  tags: string[];
}

export type Decision = { deploy: true; reason: string; version?: string } | { deploy: false; reason: string };

type Level = NonNullable<ReleasePolicy['semver']>;

const LINE_BREAKS = /[\u0085\u2028\u2029]/g;

/** A string as it can stand in a one-line reason: bare when plain printable ASCII, quoted and escaped otherwise. */
function shown(text: string): string {
  if (/^[\x21-\x7e]+$/.test(text)) return text;
  // JSON escapes \n and \r but leaves these line separators as they are.
  return JSON.stringify(text).replace(LINE_BREAKS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shortDigest(digest: string): string {
  const match = /^([a-z0-9]+):([0-9a-f]{12})[0-9a-f]+$/.exec(digest);
  return match ? `${match[1]}:${match[2]}…` : shown(digest);
}

/** The tag as a semantic version, or undefined when it is not one. */
export function parseVersion(tag: string): SemVer | undefined {
  const text = tag.replace(/^[vV]/, '').replaceAll('_', '+');
  const version = parse(text);
  // semver's parse forgives surrounding blanks and a second `v`; a tag is only a version when it round-trips exactly.
  return version && written(version) === text ? version : undefined;
}

function written(version: SemVer): string {
  return version.build.length > 0 ? `${version.version}+${version.build.join('.')}` : version.version;
}

const deploy = (reason: string, version?: string): Decision =>
  version === undefined ? { deploy: true, reason } : { deploy: true, reason, version };
const ignore = (reason: string): Decision => ({ deploy: false, reason });

export function decide(policy: ReleasePolicy, pushed: PushedImage, running: RunningImage): Decision {
  if (running.digest !== undefined && pushed.digest === running.digest) {
    return ignore(`${shortDigest(pushed.digest)} already runs`);
  }
  if (pushed.tag === '') return ignore('the push carries no tag');
  const rules = [policy.tags, policy.regexp, policy.semver].filter((rule) => rule !== undefined);
  if (rules.length !== 1) return ignore('release policy needs exactly one of tags, regexp or semver');
  if (policy.semver !== undefined) return decideVersion(policy.semver, policy, pushed.tag, running.tags);
  const { rule, matches, kind } =
    policy.tags !== undefined
      ? { rule: `tags: ${shown(policy.tags)}`, matches: globMatcher(policy.tags, policy.tagsRegExp), kind: 'glob' }
      : {
          rule: `regexp: ${shown(policy.regexp ?? '')}`,
          matches: regexpMatcher(policy.regexp ?? ''),
          kind: 'regular expression',
        };
  if (!matches) return ignore(`${rule} is not a valid ${kind}`);
  return decideMatch(rule, matches, policy.force === true, pushed.tag, running.tags);
}

type Matcher = ((tag: string) => boolean) | undefined;

// Policies come from config and are few; each is compiled once per container, not once per push.
const compiled = new Map<string, Matcher>();

function memoised(key: string, compile: () => Matcher): Matcher {
  if (!compiled.has(key)) compiled.set(key, compile());
  return compiled.get(key);
}

/** A policy's tag glob by the source config compiled for it; a glob without one (it did not compile) matches nothing. */
function globMatcher(glob: string, source: string | undefined): Matcher {
  if (source === undefined) return undefined;
  // The source is a function of the glob's text, so the text alone is the key.
  return memoised(`glob:${glob}`, () => compiledOrUndefined(glob, source));
}

function compiledOrUndefined(glob: string, source: string): Matcher {
  try {
    return compiledGlobMatcher(glob, source);
  } catch {
    return undefined;
  }
}

function regexpMatcher(pattern: string): Matcher {
  return memoised(`regexp:${pattern}`, () => {
    try {
      // Not global or sticky: test() keeps no state between tags.
      const regexp = new RegExp(pattern);
      return (tag) => regexp.test(tag);
    } catch {
      return undefined;
    }
  });
}

function decideMatch(
  rule: string,
  matches: (tag: string) => boolean,
  force: boolean,
  tag: string,
  runningTags: string[],
): Decision {
  if (!matches(tag)) return ignore(`tag ${shown(tag)} does not match ${rule}`);
  if (!runningTags.includes(tag)) return deploy(`tag ${shown(tag)} matches ${rule}`);
  if (!force) return ignore(`tag ${shown(tag)} already runs; set force: true to follow a moving tag`);
  return deploy(`tag ${shown(tag)} matches ${rule} and moved to a new digest (force: true)`);
}

function highestRunning(tags: string[]): { tag: string; version: SemVer } | undefined {
  let highest: { tag: string; version: SemVer } | undefined;
  for (const tag of tags) {
    const version = parseVersion(tag);
    if (version && (!highest || version.compare(highest.version) > 0)) highest = { tag, version };
  }
  return highest;
}

/** The versions `level` allows from R, or undefined when it allows every version. */
function levelRange(level: Level, running: SemVer): { shown: string; holds: (version: SemVer) => boolean } | undefined {
  const { major, minor } = running;
  if (level === 'patch') return { shown: `${major}.${minor}.x`, holds: (v) => v.major === major && v.minor === minor };
  if (level === 'minor') return { shown: `${major}.x.x`, holds: (v) => v.major === major };
  return undefined;
}

function decideVersion(level: Level, policy: ReleasePolicy, tag: string, runningTags: string[]): Decision {
  const name = shown(tag);
  const version = parseVersion(tag);
  if (!version) return ignore(`${name} is not a semantic version`);
  if (version.prerelease.length > 0 && policy.prerelease !== true) {
    return ignore(`${name} is a pre-release; set prerelease: true to deploy pre-releases`);
  }
  const running = highestRunning(runningTags);
  if (!running) {
    return deploy(
      `nothing known runs: no running tag is a semantic version, so ${name} deploys (${level})`,
      written(version),
    );
  }
  const runs = shown(running.tag);
  const newer = version.compare(running.version) > 0;
  if (!newer && policy.force !== true) return ignore(`${name} is not newer than ${runs} which runs`);
  const range = levelRange(level, running.version);
  if (range && !range.holds(version)) {
    return ignore(`${name} is outside ${range.shown} (semver: ${level} from ${runs} which runs)`);
  }
  if (!newer) {
    return deploy(
      `${name} is not newer than ${runs} which runs; deploying it because force: true (${level})`,
      written(version),
    );
  }
  return deploy(`${name} is newer than ${runs} (${level})`, written(version));
}

/** Among the tags one digest was pushed under, the one the policy would deploy (the highest version for semver), or undefined. */
export function choose(
  policy: ReleasePolicy,
  digest: string,
  tags: string[],
  running: RunningImage,
): { tag: string; decision: Decision & { deploy: true } } | undefined {
  // Sorting makes the pick independent of the order the registry listed the tags in.
  const sorted = tags.toSorted((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let chosen: { tag: string; decision: Decision & { deploy: true }; version: SemVer | undefined } | undefined;
  for (const tag of sorted) {
    const decision = decide(policy, { tag, digest }, running);
    if (!decision.deploy) continue;
    if (policy.semver === undefined) return { tag, decision };
    const version = parseVersion(tag);
    if (!chosen || (version && chosen.version && version.compare(chosen.version) > 0)) {
      chosen = { tag, decision, version };
    }
  }
  return chosen && { tag: chosen.tag, decision: chosen.decision };
}
