import fc from 'fast-check';
import semver from 'semver';
import { compileReleasePolicy } from '../../../lib/config/glob-compile';
import type { ReleasePolicy } from '../../../lib/config/schema';
import { choose, decide, type RunningImage } from '../../../lib/release/policy';

type Level = NonNullable<ReleasePolicy['semver']>;
const LEVELS = ['major', 'minor', 'patch', 'all'] as const satisfies readonly Level[];

const PUSHED_DIGEST = `sha256:${'9c'.repeat(32)}`;
const RUNNING_DIGEST = `sha256:${'3f'.repeat(32)}`;
const RUNS = { numRuns: 300 };

/** A version as the oracle knows it, and the many ways a tag can spell it. */
interface Version {
  major: number;
  minor: number;
  patch: number;
  pre: string | undefined;
  build: string | undefined;
  prefix: '' | 'v' | 'V';
  separator: '+' | '_';
}

// Small ranges, so that equal versions, same majors and same minors come up often.
const version = fc.record<Version>({
  major: fc.integer({ min: 0, max: 3 }),
  minor: fc.integer({ min: 0, max: 3 }),
  patch: fc.integer({ min: 0, max: 3 }),
  pre: fc.option(fc.constantFrom('rc.1', 'rc.2', 'alpha', 'beta.3', '0'), { nil: undefined }),
  build: fc.option(fc.constantFrom('build.5', 'build.6', '20240107', 'sha.3f2a1c'), { nil: undefined }),
  prefix: fc.constantFrom('', 'v', 'V'),
  separator: fc.constantFrom('+', '_'),
});

const JUNK = ['latest', 'stable', '1.4', 'develop-3f2a1c', 'v', ''];
const entry = fc.oneof({ weight: 4, arbitrary: version }, { weight: 1, arbitrary: fc.constantFrom(...JUNK) });

const tagOf = (entry: Version | string): string =>
  typeof entry === 'string'
    ? entry
    : `${entry.prefix}${entry.major}.${entry.minor}.${entry.patch}${entry.pre ? `-${entry.pre}` : ''}${
        entry.build ? `${entry.separator}${entry.build}` : ''
      }`;

/** The version without prefix or build: what orders versions. */
const canonical = (v: Version): string => `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}`;
const compare = (a: Version, b: Version): number => semver.compare(canonical(a), canonical(b));
const isVersion = (entry: Version | string): entry is Version => typeof entry !== 'string';

function highest(versions: Version[]): Version | undefined {
  return versions.reduce<Version | undefined>((best, v) => (best && compare(best, v) >= 0 ? best : v), undefined);
}

/** What the contract lets deploy, worked out from the numbers rather than from tags. */
function eligible(v: Version, level: Level, prerelease: boolean, running: Version | undefined): boolean {
  if (v.pre !== undefined && !prerelease) return false;
  if (!running) return true;
  if (compare(v, running) <= 0) return false;
  if (level === 'patch') return v.major === running.major && v.minor === running.minor;
  if (level === 'minor') return v.major === running.major;
  return true;
}

const scenario = fc.record({
  level: fc.constantFrom(...LEVELS),
  prerelease: fc.boolean(),
  pushed: fc.array(entry, { minLength: 1, maxLength: 6 }),
  running: fc.array(entry, { maxLength: 4 }),
});

function run(s: { level: Level; prerelease: boolean; pushed: (Version | string)[]; running: (Version | string)[] }) {
  const policy: ReleasePolicy = { scanTimeoutMinutes: 60, semver: s.level, prerelease: s.prerelease };
  const running: RunningImage = { digest: RUNNING_DIGEST, tags: s.running.map(tagOf) };
  const chosen = choose(policy, PUSHED_DIGEST, s.pushed.map(tagOf), running);
  // Equal tags spell equal versions, so the first entry behind a tag speaks for it.
  const picked = chosen && s.pushed.find((entry) => tagOf(entry) === chosen.tag);
  return { chosen, picked, runningVersion: highest(s.running.filter(isVersion)) };
}

describe('choose under semver (property)', () => {
  it('picks only a version that is newer, within the level, and a release unless pre-releases are on', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        // Given versions pushed under one digest and the versions the running image carries
        // When a tag is chosen
        const { chosen, picked, runningVersion } = run(s);

        // Then whatever was picked is a version the contract allows
        if (!chosen) return;
        expect(picked !== undefined && isVersion(picked)).toBe(true);
        const v = picked as Version;
        if (runningVersion) {
          expect(compare(v, runningVersion)).toBe(1);
          if (s.level !== 'major' && s.level !== 'all') expect(v.major).toBe(runningVersion.major);
          if (s.level === 'patch') expect(v.minor).toBe(runningVersion.minor);
        }
        if (!s.prerelease) expect(v.pre).toBeUndefined();
        expect(chosen.decision.version).toBe(`${canonical(v)}${v.build ? `+${v.build}` : ''}`);
      }),
      RUNS,
    );
  });

  it('picks the highest eligible version, and nothing only when none is eligible', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        // Given versions pushed under one digest and the versions the running image carries
        // When a tag is chosen
        const { chosen, picked, runningVersion } = run(s);

        // Then no eligible version is higher than the pick
        const candidates = s.pushed.filter(isVersion).filter((v) => eligible(v, s.level, s.prerelease, runningVersion));
        const best = highest(candidates);
        expect(chosen === undefined).toBe(best === undefined);
        if (best && picked && isVersion(picked)) expect(compare(picked, best)).toBe(0);
      }),
      RUNS,
    );
  });
});

// Any string a registry, a webhook or a hand-edited config could carry.
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), version.map(tagOf));
const anyPolicy: fc.Arbitrary<ReleasePolicy> = fc
  .record({
    rule: fc.oneof(
      fc.constantFrom(...LEVELS).map((semver) => ({ semver })),
      anyString.map((tags) => ({ tags })),
      anyString.map((regexp) => ({ regexp })),
    ),
    force: fc.boolean(),
    prerelease: fc.boolean(),
  })
  .map(({ rule, force, prerelease }) =>
    compileReleasePolicy<ReleasePolicy>({ scanTimeoutMinutes: 60, force, prerelease, ...rule }),
  );
const LINE_BREAK = /[\n\r\v\f\u0085\u2028\u2029]/;

describe('decide on arbitrary strings (property)', () => {
  it('never throws and always gives a one-line reason', () => {
    fc.assert(
      fc.property(
        anyPolicy,
        anyString,
        anyString,
        fc.option(anyString, { nil: undefined }),
        fc.array(anyString, { maxLength: 4 }),
        (policy, tag, digest, runningDigest, runningTags) => {
          // Given any strings at all as tag, digests and running tags
          const running = { digest: runningDigest, tags: runningTags };

          // When a push is decided and a tag chosen
          const decision = decide(policy, { tag, digest }, running);
          const chosen = choose(policy, digest, [tag, ...runningTags], running);

          // Then a decision comes back with a reason on one line, and a pick is one of the tags
          expect(decision.reason).not.toBe('');
          expect(LINE_BREAK.test(decision.reason)).toBe(false);
          if (chosen) expect([tag, ...runningTags]).toContain(chosen.tag);
        },
      ),
      RUNS,
    );
  });

  it('never deploys the digest that runs', () => {
    fc.assert(
      fc.property(
        anyPolicy,
        anyString,
        anyString,
        fc.array(anyString, { maxLength: 4 }),
        (policy, tag, digest, tags) => {
          // Given the pushed digest is the one that runs
          const running = { digest, tags };

          // When it is decided under any policy and tag
          const decision = decide(policy, { tag, digest }, running);
          const chosen = choose(policy, digest, [tag, ...tags], running);

          // Then it never deploys
          expect(decision.deploy).toBe(false);
          expect(chosen).toBeUndefined();
        },
      ),
      RUNS,
    );
  });
});
