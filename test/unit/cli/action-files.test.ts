import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The files GitHub reads as they are committed: the action's bundle (an action runs from the repository
 * without a build) and the workflow files, which action-validator checks against the schemas of
 * action.yml and workflow files that GitHub's editors use (SchemaStore's github-action and github-workflow).
 */

const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-action-files-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function validate(path: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('node_modules/.bin/action-validator', [path]);
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

describe('the deploy action', () => {
  it('is committed as built from packages/cli/src/action', async () => {
    // Given the action built afresh from its sources
    const fresh = join(dir, 'index.js');
    await run(process.execPath, ['packages/cli/build.mjs', '--action', fresh]);

    // Then it is the committed bundle, byte for byte: else run `npm run build:action` and commit
    expect(readFileSync(fresh, 'utf8') === readFileSync('actions/deploy/dist/index.js', 'utf8')).toBe(true);
  });

  it('draws no table, so the bundle holds none of cli-table3', () => {
    expect(readFileSync('actions/deploy/dist/index.js', 'utf8')).not.toMatch(/cli-table3|string-width/);
  });
});

describe('action-validator', () => {
  it.each(['actions/deploy/action.yml', 'examples/github-actions/deploy.yml'])('accepts %s', async (path) => {
    expect(await validate(path)).toEqual({ code: 0, output: '' });
  });

  it('refuses a workflow GitHub would refuse, so the checks above can fail', async () => {
    // Given a workflow whose job has no runs-on, and a step with both uses and run
    const broken = join(dir, 'broken.yml');
    writeFileSync(
      broken,
      'on: push\njobs:\n  deploy:\n    steps:\n      - uses: actions/checkout@v4\n        run: echo both\n',
    );

    // Then it is refused
    const result = await validate(broken);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/runs-on|uses|run/);
  });
});
