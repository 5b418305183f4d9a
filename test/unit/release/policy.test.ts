import { compileReleasePolicy } from '../../../lib/config/glob-compile';
import type { ReleasePolicy } from '../../../lib/config/schema';
import { choose, type Decision, decide, parseVersion, type RunningImage } from '../../../lib/release/policy';

const PUSHED_DIGEST = `sha256:${'9c'.repeat(32)}`;
const RUNNING_DIGEST = `sha256:3f2a1c9e0b4d${'7e'.repeat(26)}`;

/** A policy as the schema returns it: the defaults filled in, the rule given, its tag glob compiled. */
function policy(rules: Partial<ReleasePolicy>): ReleasePolicy {
  return compileReleasePolicy({ scanTimeoutMinutes: 60, ...rules });
}

function runs(...tags: string[]): RunningImage {
  return { digest: RUNNING_DIGEST, tags };
}

const deploys = (reason: string, version?: string): Decision =>
  version === undefined ? { deploy: true, reason } : { deploy: true, reason, version };
const ignores = (reason: string): Decision => ({ deploy: false, reason });

type Case = [title: string, rules: Partial<ReleasePolicy>, tag: string, running: RunningImage, expected: Decision];

describe('decide', () => {
  it.each<Case>([
    // semver: minor follows 1.x.x (Keel: 1.4.2 → 1.5.0 and 1.4.3, never 2.0.0)
    [
      'minor ignores a major bump',
      { semver: 'minor' },
      '2.0.0',
      runs('1.4.2'),
      ignores('2.0.0 is outside 1.x.x (semver: minor from 1.4.2 which runs)'),
    ],
    [
      'minor takes a minor bump',
      { semver: 'minor' },
      '1.5.0',
      runs('1.4.2'),
      deploys('1.5.0 is newer than 1.4.2 (minor)', '1.5.0'),
    ],
    [
      'minor takes a patch bump',
      { semver: 'minor' },
      '1.4.3',
      runs('1.4.2'),
      deploys('1.4.3 is newer than 1.4.2 (minor)', '1.4.3'),
    ],
    [
      'minor ignores an older version',
      { semver: 'minor' },
      '1.3.9',
      runs('1.4.2'),
      ignores('1.3.9 is not newer than 1.4.2 which runs'),
    ],
    [
      'minor ignores the version that runs',
      { semver: 'minor' },
      '1.4.2',
      runs('1.4.2'),
      ignores('1.4.2 is not newer than 1.4.2 which runs'),
    ],
    // semver: patch follows 1.4.x
    [
      'patch takes a patch bump',
      { semver: 'patch' },
      '1.4.3',
      runs('1.4.2'),
      deploys('1.4.3 is newer than 1.4.2 (patch)', '1.4.3'),
    ],
    [
      'patch ignores a minor bump',
      { semver: 'patch' },
      '1.5.0',
      runs('1.4.2'),
      ignores('1.5.0 is outside 1.4.x (semver: patch from 1.4.2 which runs)'),
    ],
    [
      'patch ignores a major bump',
      { semver: 'patch' },
      '2.4.2',
      runs('1.4.2'),
      ignores('2.4.2 is outside 1.4.x (semver: patch from 1.4.2 which runs)'),
    ],
    // semver: major and all take anything newer
    [
      'major takes a major bump',
      { semver: 'major' },
      '2.0.0',
      runs('1.4.2'),
      deploys('2.0.0 is newer than 1.4.2 (major)', '2.0.0'),
    ],
    [
      'major takes a minor bump',
      { semver: 'major' },
      '1.5.0',
      runs('1.4.2'),
      deploys('1.5.0 is newer than 1.4.2 (major)', '1.5.0'),
    ],
    [
      'all takes a major bump',
      { semver: 'all' },
      '2.0.0',
      runs('1.4.2'),
      deploys('2.0.0 is newer than 1.4.2 (all)', '2.0.0'),
    ],
    [
      'all takes a patch bump',
      { semver: 'all' },
      '1.4.3',
      runs('1.4.2'),
      deploys('1.4.3 is newer than 1.4.2 (all)', '1.4.3'),
    ],
    [
      'all ignores an older version',
      { semver: 'all' },
      '1.4.1',
      runs('1.4.2'),
      ignores('1.4.1 is not newer than 1.4.2 which runs'),
    ],
    // pre-releases
    [
      'minor ignores a pre-release without prerelease: true',
      { semver: 'minor' },
      '1.5.0-rc.1',
      runs('1.4.2'),
      ignores('1.5.0-rc.1 is a pre-release; set prerelease: true to deploy pre-releases'),
    ],
    [
      'major ignores a pre-release without prerelease: true',
      { semver: 'major' },
      '2.0.0-beta.1',
      runs('1.4.2'),
      ignores('2.0.0-beta.1 is a pre-release; set prerelease: true to deploy pre-releases'),
    ],
    [
      'minor takes a newer pre-release with prerelease: true',
      { semver: 'minor', prerelease: true },
      '1.5.0-rc.1',
      runs('1.4.2'),
      deploys('1.5.0-rc.1 is newer than 1.4.2 (minor)', '1.5.0-rc.1'),
    ],
    [
      'a pre-release of the version that runs is not newer',
      { semver: 'minor', prerelease: true },
      '1.5.0-rc.2',
      runs('1.5.0'),
      ignores('1.5.0-rc.2 is not newer than 1.5.0 which runs'),
    ],
    [
      'a later pre-release replaces an earlier one',
      { semver: 'all', prerelease: true },
      '1.5.0-rc.2',
      runs('1.5.0-rc.1'),
      deploys('1.5.0-rc.2 is newer than 1.5.0-rc.1 (all)', '1.5.0-rc.2'),
    ],
    [
      'the release replaces its pre-release',
      { semver: 'patch' },
      '1.5.0',
      runs('1.5.0-rc.1'),
      deploys('1.5.0 is newer than 1.5.0-rc.1 (patch)', '1.5.0'),
    ],
    // a leading v on either side
    [
      'a leading v on the pushed tag',
      { semver: 'minor' },
      'v1.5.0',
      runs('1.4.2'),
      deploys('v1.5.0 is newer than 1.4.2 (minor)', '1.5.0'),
    ],
    [
      'a leading v on the running tag',
      { semver: 'minor' },
      '1.5.0',
      runs('v1.4.2'),
      deploys('1.5.0 is newer than v1.4.2 (minor)', '1.5.0'),
    ],
    [
      'a leading capital V on both',
      { semver: 'patch' },
      'V1.4.3',
      runs('V1.4.2'),
      deploys('V1.4.3 is newer than V1.4.2 (patch)', '1.4.3'),
    ],
    [
      'v1.4.2 is the same version as 1.4.2',
      { semver: 'minor' },
      'v1.4.2',
      runs('1.4.2'),
      ignores('v1.4.2 is not newer than 1.4.2 which runs'),
    ],
    // build metadata never orders versions
    [
      'builds after + of the same version',
      { semver: 'minor' },
      '1.4.2+build.6',
      runs('1.4.2+build.5'),
      ignores('1.4.2+build.6 is not newer than 1.4.2+build.5 which runs'),
    ],
    [
      'builds after _ of the same version',
      { semver: 'minor' },
      '1.4.2_build.6',
      runs('1.4.2_build.5'),
      ignores('1.4.2_build.6 is not newer than 1.4.2_build.5 which runs'),
    ],
    [
      'a build after _ of a newer version',
      { semver: 'minor' },
      '1.4.3_build.7',
      runs('1.4.2'),
      deploys('1.4.3_build.7 is newer than 1.4.2 (minor)', '1.4.3+build.7'),
    ],
    [
      'a pre-release with a build after _',
      { semver: 'minor', prerelease: true },
      'v1.5.0-rc.1_build.2',
      runs('1.4.2'),
      deploys('v1.5.0-rc.1_build.2 is newer than 1.4.2 (minor)', '1.5.0-rc.1+build.2'),
    ],
    // tags that are not semantic versions
    ['latest', { semver: 'minor' }, 'latest', runs('1.4.2'), ignores('latest is not a semantic version')],
    ['a version without patch', { semver: 'minor' }, '1.4', runs('1.4.2'), ignores('1.4 is not a semantic version')],
    [
      'a branch build',
      { semver: 'all' },
      'develop-3f2a1c',
      runs('1.4.2'),
      ignores('develop-3f2a1c is not a semantic version'),
    ],
    ['an empty tag', { semver: 'minor' }, '', runs('1.4.2'), ignores('the push carries no tag')],
    [
      'two underscores',
      { semver: 'minor' },
      '1.4.3_build_5',
      runs('1.4.2'),
      ignores('1.4.3_build_5 is not a semantic version'),
    ],
    ['a doubled v', { semver: 'minor' }, 'vv1.4.3', runs('1.4.2'), ignores('vv1.4.3 is not a semantic version')],
    ['a leading zero', { semver: 'minor' }, '1.04.3', runs('1.4.2'), ignores('1.04.3 is not a semantic version')],
    [
      'a tag with a line break, quoted to keep the reason on one line',
      { semver: 'minor' },
      '1.4.3\n',
      runs('1.4.2'),
      ignores('"1.4.3\\n" is not a semantic version'),
    ],
    // force: deploy a matching tag even when it is not newer
    [
      'force takes an older version within the level',
      { semver: 'minor', force: true },
      '1.3.0',
      runs('1.4.2'),
      deploys('1.3.0 is not newer than 1.4.2 which runs; deploying it because force: true (minor)', '1.3.0'),
    ],
    [
      'force takes the same version under a new digest',
      { semver: 'patch', force: true },
      '1.4.2',
      runs('1.4.2'),
      deploys('1.4.2 is not newer than 1.4.2 which runs; deploying it because force: true (patch)', '1.4.2'),
    ],
    [
      'force does not widen the level downwards',
      { semver: 'minor', force: true },
      '0.9.0',
      runs('1.4.2'),
      ignores('0.9.0 is outside 1.x.x (semver: minor from 1.4.2 which runs)'),
    ],
    [
      'force does not widen the level upwards',
      { semver: 'patch', force: true },
      '1.5.0',
      runs('1.4.2'),
      ignores('1.5.0 is outside 1.4.x (semver: patch from 1.4.2 which runs)'),
    ],
    [
      'force does not take pre-releases',
      { semver: 'all', force: true },
      '1.5.0-rc.1',
      runs('1.4.2'),
      ignores('1.5.0-rc.1 is a pre-release; set prerelease: true to deploy pre-releases'),
    ],
    // nothing known runs
    [
      'no running tags',
      { semver: 'minor' },
      '2.0.0',
      runs(),
      deploys('nothing known runs: no running tag is a semantic version, so 2.0.0 deploys (minor)', '2.0.0'),
    ],
    [
      'running tags that are not versions',
      { semver: 'patch' },
      '1.5.0',
      runs('latest'),
      deploys('nothing known runs: no running tag is a semantic version, so 1.5.0 deploys (patch)', '1.5.0'),
    ],
    [
      'nothing known runs, still no pre-release',
      { semver: 'all' },
      '1.5.0-rc.1',
      { tags: [] },
      ignores('1.5.0-rc.1 is a pre-release; set prerelease: true to deploy pre-releases'),
    ],
    // the running image carrying several tags: the highest version is what runs
    [
      'the highest running tag wins',
      { semver: 'minor' },
      '1.4.4',
      runs('latest', '1.4.2', 'v1.4.5', '1.3.0'),
      ignores('1.4.4 is not newer than v1.4.5 which runs'),
    ],
    [
      'the level counts from the highest running tag',
      { semver: 'patch' },
      '1.5.1',
      runs('1.4.2', '1.5.0', 'stable'),
      deploys('1.5.1 is newer than 1.5.0 (patch)', '1.5.1'),
    ],
    // the digest that runs
    [
      'the digest that runs, under a newer version',
      { semver: 'all' },
      '1.5.0',
      { digest: PUSHED_DIGEST, tags: ['1.4.2'] },
      ignores('sha256:9c9c9c9c9c9c… already runs'),
    ],
    [
      'the digest that runs, under a matching tag with force',
      { tags: 'develop-*', force: true },
      'develop-3f2a1c',
      { digest: PUSHED_DIGEST, tags: [] },
      ignores('sha256:9c9c9c9c9c9c… already runs'),
    ],
    // tags: <glob>
    [
      'a glob match',
      { tags: 'develop-*' },
      'develop-3f2a1c',
      runs('develop-000000'),
      deploys('tag develop-3f2a1c matches tags: develop-*'),
    ],
    [
      'a glob mismatch',
      { tags: 'develop-*' },
      'feature-x',
      runs('develop-000000'),
      ignores('tag feature-x does not match tags: develop-*'),
    ],
    [
      'a glob with a character class',
      { tags: 'release-[0-9]*' },
      'release-x1',
      runs(),
      ignores('tag release-x1 does not match tags: release-[0-9]*'),
    ],
    [
      'a mutable tag re-pushed',
      { tags: 'staging' },
      'staging',
      runs('staging', 'develop-000000'),
      ignores('tag staging already runs; set force: true to follow a moving tag'),
    ],
    [
      'a mutable tag re-pushed with force',
      { tags: 'staging', force: true },
      'staging',
      runs('staging'),
      deploys('tag staging matches tags: staging and moved to a new digest (force: true)'),
    ],
    [
      'a new tag with force',
      { tags: 'develop-*', force: true },
      'develop-3f2a1c',
      runs('develop-000000'),
      deploys('tag develop-3f2a1c matches tags: develop-*'),
    ],
    [
      'a glob the schema would refuse',
      { tags: 'release-[0-9' },
      'release-1',
      runs(),
      ignores('tags: release-[0-9 is not a valid glob'),
    ],
    // regexp: <pattern>
    [
      'a regexp match',
      { regexp: '^qa-[0-9]+$' },
      'qa-42',
      runs('qa-41'),
      deploys('tag qa-42 matches regexp: ^qa-[0-9]+$'),
    ],
    [
      'a regexp mismatch',
      { regexp: '^qa-[0-9]+$' },
      'qa-42a',
      runs('qa-41'),
      ignores('tag qa-42a does not match regexp: ^qa-[0-9]+$'),
    ],
    [
      'an unanchored regexp matches anywhere in the tag',
      { regexp: 'qa-[0-9]+' },
      'preqa-7-hotfix',
      runs(),
      deploys('tag preqa-7-hotfix matches regexp: qa-[0-9]+'),
    ],
    [
      'a regexp tag re-pushed',
      { regexp: '^qa-[0-9]+$' },
      'qa-42',
      runs('qa-42'),
      ignores('tag qa-42 already runs; set force: true to follow a moving tag'),
    ],
    [
      'a regexp tag re-pushed with force',
      { regexp: '^qa-[0-9]+$', force: true },
      'qa-42',
      runs('qa-42'),
      deploys('tag qa-42 matches regexp: ^qa-[0-9]+$ and moved to a new digest (force: true)'),
    ],
    [
      'a regexp the schema would refuse',
      { regexp: '^qa-(' },
      'qa-1',
      runs(),
      ignores('regexp: ^qa-( is not a valid regular expression'),
    ],
    // policies the schema would refuse
    [
      'a policy without a rule',
      { force: true },
      '1.5.0',
      runs('1.4.2'),
      ignores('release policy needs exactly one of tags, regexp or semver'),
    ],
    [
      'a policy with two rules',
      { semver: 'minor', tags: '*' },
      '1.5.0',
      runs('1.4.2'),
      ignores('release policy needs exactly one of tags, regexp or semver'),
    ],
  ])('%s', (_title, rules, tag, running, expected) => {
    // Given the environment's policy and what runs there
    const given = policy(rules);

    // When an image is pushed under the tag
    const decision = decide(given, { tag, digest: PUSHED_DIGEST }, running);

    // Then the decision and its reason are exactly the expected ones
    expect(decision).toEqual(expected);
  });
});

describe('parseVersion', () => {
  it.each([
    ['1.4.2', '1.4.2', []],
    ['v1.4.2', '1.4.2', []],
    ['V1.4.2-rc.1', '1.4.2-rc.1', []],
    ['1.4.2+build.5', '1.4.2', ['build', '5']],
    ['1.4.2_build.5', '1.4.2', ['build', '5']],
    ['1.4.2-rc.1_2024.01.07', '1.4.2-rc.1', ['2024', '01', '07']],
  ])('reads %s as %s with build %j', (tag, version, build) => {
    // When the tag is read
    const parsed = parseVersion(tag);

    // Then the version and its build metadata are kept apart
    expect({ version: parsed?.version, build: parsed?.build }).toEqual({ version, build });
  });

  it.each([
    '',
    'latest',
    '1.4',
    '1.4.2.1',
    'v',
    'vv1.4.2',
    'x1.4.2',
    ' 1.4.2',
    '1.4.2 ',
    '=1.4.2',
    '1.4.2-',
    '1.4.2_',
    '1.4.2+a_b',
    '01.4.2',
    '1.4.2-01',
    '99999999999999999999.0.0',
  ])('does not read %j as a version', (tag) => {
    // When a tag that is not exactly a version is read
    const parsed = parseVersion(tag);

    // Then it is no version at all
    expect(parsed).toBeUndefined();
  });
});

describe('choose', () => {
  it.each<[title: string, rules: Partial<ReleasePolicy>, tags: string[], running: RunningImage, expected: unknown]>([
    [
      'the highest version the level allows',
      { semver: 'minor' },
      ['latest', '1.4.3', 'v1.6.0', '2.0.0', '1.5.0'],
      runs('1.4.2'),
      { tag: 'v1.6.0', decision: deploys('v1.6.0 is newer than 1.4.2 (minor)', '1.6.0') },
    ],
    [
      'the highest release when pre-releases are off',
      { semver: 'all' },
      ['1.6.0-rc.1', '1.5.0'],
      runs('1.4.2'),
      { tag: '1.5.0', decision: deploys('1.5.0 is newer than 1.4.2 (all)', '1.5.0') },
    ],
    [
      'a pre-release above the release when pre-releases are on',
      { semver: 'all', prerelease: true },
      ['1.5.0', '1.6.0-rc.1'],
      runs('1.4.2'),
      { tag: '1.6.0-rc.1', decision: deploys('1.6.0-rc.1 is newer than 1.4.2 (all)', '1.6.0-rc.1') },
    ],
    [
      'the first in sorted order among equal versions',
      { semver: 'minor' },
      ['v1.5.0', '1.5.0_build.2', '1.5.0'],
      runs('1.4.2'),
      { tag: '1.5.0', decision: deploys('1.5.0 is newer than 1.4.2 (minor)', '1.5.0') },
    ],
    ['nothing when no tag is newer', { semver: 'minor' }, ['1.4.2', '1.3.0', 'latest'], runs('1.4.2'), undefined],
    [
      'nothing when the digest already runs',
      { semver: 'all' },
      ['2.0.0'],
      { digest: PUSHED_DIGEST, tags: ['1.4.2'] },
      undefined,
    ],
    ['nothing for a push without tags', { tags: '*' }, [], runs(), undefined],
    [
      'the first matching tag in sorted order for a glob',
      { tags: 'develop-*' },
      ['main', 'develop-b7', 'develop-a1'],
      runs(),
      { tag: 'develop-a1', decision: deploys('tag develop-a1 matches tags: develop-*') },
    ],
    [
      'a matching tag that does not run yet rather than the moving one',
      { regexp: '^(qa|staging)' },
      ['staging', 'qa-42'],
      runs('qa-42'),
      { tag: 'staging', decision: deploys('tag staging matches regexp: ^(qa|staging)') },
    ],
  ])('picks %s', (_title, rules, tags, running, expected) => {
    // Given the tags one digest was pushed under, in the order the registry listed them
    const given = policy(rules);

    // When the tag to deploy is chosen, from that order and from the reverse
    const chosen = choose(given, PUSHED_DIGEST, tags, running);
    const fromReversed = choose(given, PUSHED_DIGEST, tags.toReversed(), running);

    // Then the pick is the expected one, whatever the order
    expect(chosen).toEqual(expected);
    expect(fromReversed).toEqual(expected);
  });
});
