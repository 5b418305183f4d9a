import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import picomatch from 'picomatch';
import { compileClaimGlob, compileReleasePolicy } from '../../../lib/config/glob-compile';
import { compiledGlobMatcher } from '../../../lib/config/glob-match';
import { FUZZ_RUNS, fuzzParameters } from '../../support/fuzz';

/**
 * Globs are compiled when the stage is packaged and matched in the functions without picomatch: what a compiled
 * glob accepts must be what picomatch's own matcher, with the options the functions used to call it with, accepts.
 */

// The options oidc-rules and the release policy called picomatch with (the policy's `windows` was Lambda's: Linux).
const CLAIM_OPTIONS = { dot: true, nonegate: true, strictBrackets: true, windows: false };
const TAG_OPTIONS = { strictBrackets: true, windows: false };

const GLOB_PARTS = ['a', 'b', '.', '-', '/', '*', '**', '?', '[ab]', '[!a]', '[a-', '{a,b}', '{a', '@(a|b)', '+(a)'];
const glob = fc.array(fc.constantFrom(...GLOB_PARTS, '!(a)', '\\*', '(', ')', ']', '}', ','), {
  minLength: 1,
  maxLength: 6,
});
const valueParts = fc.array(fc.constantFrom('a', 'b', 'c', '.', '-', '/', '*', '[', ']', '{', '}', ','), {
  maxLength: 8,
});

/** Whether a glob compiles, and what picomatch and the compiled glob each say of the values. */
function verdicts(text: string, values: string[], options: object, compile: (text: string) => string | undefined) {
  let matcher: ((value: string) => boolean) | undefined;
  try {
    matcher = picomatch(text, options);
  } catch {
    matcher = undefined;
  }
  let source: string | undefined;
  try {
    source = compile(text);
  } catch {
    source = undefined;
  }
  const compiled = source === undefined ? undefined : compiledGlobMatcher(text, source);
  return {
    picomatch: matcher && values.map((value) => matcher(value)),
    compiled: compiled && values.map((value) => compiled(value)),
  };
}

describe('a compiled glob', () => {
  it('accepts what picomatch accepts for a claim glob, its own text and the empty string included (property)', () => {
    fc.assert(
      fc.property(glob, fc.array(valueParts, { maxLength: 6 }), (parts, values) => {
        const text = parts.join('');
        // Given a claim glob (any other value is compared exactly), when it is compiled and matched as the functions do
        fc.pre(picomatch.scan(text).isGlob);
        const { picomatch: expected, compiled } = verdicts(
          text,
          [...values.map((value) => value.join('')), text, ''],
          CLAIM_OPTIONS,
          compileClaimGlob,
        );
        // Then it accepts exactly what picomatch's matcher does, and compiles exactly when picomatch does
        expect(compiled).toEqual(expected);
      }),
      fuzzParameters(Math.max(2_000, 20 * FUZZ_RUNS)),
    );
  });

  it('accepts what picomatch accepts for a tag glob, and has no source when picomatch refuses it (property)', () => {
    fc.assert(
      fc.property(glob, fc.array(valueParts, { maxLength: 6 }), (parts, values) => {
        const text = parts.join('');
        const { picomatch: expected, compiled } = verdicts(
          text,
          [...values.map((value) => value.join('')), text, ''],
          TAG_OPTIONS,
          (t) => compileReleasePolicy({ tags: t }).tagsRegExp,
        );
        expect(compiled).toEqual(expected);
      }),
      fuzzParameters(Math.max(2_000, 20 * FUZZ_RUNS)),
    );
  });

  it.each([
    ['release-[0-9]*', 'release-1.4', true],
    ['release-[0-9]*', 'release-x', false],
    ['release-[0-9', 'release-[0-9', undefined],
  ])('of tags %s against %s: %s', (tags, tag, expected) => {
    const { tagsRegExp } = compileReleasePolicy({ tags });
    expect(tagsRegExp === undefined ? undefined : compiledGlobMatcher(tags, tagsRegExp)(tag)).toBe(expected);
  });

  it('leaves an exact claim value without a regular expression', () => {
    expect(compileClaimGlob('org/shop.web')).toBeUndefined();
    expect(compileClaimGlob('org/*')).toEqual(expect.any(String));
  });
});

describe('the functions that match OIDC rules and release policies', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-globs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bundle no picomatch, and of semver only its parser and the class it builds', async () => {
    // Given the handlers of an HTTP route (OIDC rules) and of the release functions (release policy)
    // When they are bundled as serverless-esbuild bundles a function
    const { metafile } = await build({
      entryPoints: [
        'functions/http/get-deployment.ts',
        'functions/http/registry-webhook.ts',
        'functions/schedules/release-due.ts',
      ],
      outdir: dir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    const packages = Object.keys(metafile.inputs).filter((input) => /node_modules\/(picomatch|semver)\//.test(input));
    // Then no picomatch, and of semver only the parser and the class it builds
    expect(packages.filter((input) => input.includes('picomatch'))).toEqual([]);
    expect(packages.filter((input) => /semver\/(ranges|index\.js|functions\/(?!parse\.js))/.test(input))).toEqual([]);
    expect(packages.filter((input) => input.endsWith('node_modules/semver/classes/semver.js'))).toHaveLength(1);
  }, 60_000);
});
