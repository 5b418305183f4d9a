import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { exampleWorkflowFiles } from '../../support/examples';

/**
 * The files GitHub reads as they are committed: the action's bundle (an action runs from the repository
 * without a build) and the workflow files, which action-validator checks against the schemas of
 * action.yml and workflow files that GitHub's editors use (SchemaStore's github-action and github-workflow).
 * Every workflow under examples/ is found by its shape, so a new example's workflow is checked with no edit here.
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

const workflows = exampleWorkflowFiles();

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown> };
type Workflow = { jobs?: Record<string, { steps?: Step[] }> };

/** What a step must not do to reach Slipway: check its repository out, install that checkout's packages, or run its bin. */
const SLIPWAY_CHECKOUT: { what: string; does: (step: Step) => boolean }[] = [
  { what: 'checks out the Slipway repository', does: (step) => /slipway/i.test(String(step.with?.repository ?? '')) },
  {
    what: 'runs npm ci (or install) for the Slipway CLI',
    does: (step) => /\bnpm (ci|install)\b/.test(step.run ?? '') && /slipway/i.test(JSON.stringify(step)),
  },
  {
    what: 'runs `npx slipway`, which needs a Slipway checkout',
    does: (step) => /\bnpx slipway\b/.test(step.run ?? ''),
  },
];
const INSTEAD =
  'deploy with `uses: <owner>/slipway/actions/deploy@<ref>` (examples/github-actions/deploy.yml), ' +
  'and follow, promote or approve with `npx --yes @slipway/cli@<version>` and the OIDC token (examples/rag-shop/ci)';

function slipwayCheckouts(path: string, workflow: Workflow): string[] {
  return Object.entries(workflow.jobs ?? {}).flatMap(([job, { steps = [] }]) =>
    steps.flatMap((step, index) =>
      SLIPWAY_CHECKOUT.filter(({ does }) => does(step)).map(
        ({ what }) => `${path}, job ${job}, step ${step.name ?? index + 1} ${what}: ${INSTEAD}`,
      ),
    ),
  );
}

describe('the example workflows', () => {
  it('are found by their shape, with the GitLab pipeline and Slipway configs left out', () => {
    expect(workflows).toEqual(
      expect.arrayContaining([
        'examples/github-actions/deploy.yml',
        'examples/rag-shop/ci/approve.yml',
        'examples/rag-shop/ci/deploy.yml',
        'examples/total-recall/ci/deploy.yml',
      ]),
    );
    expect(workflows.filter((path) => /slipway\.yml$|gitlab/.test(path))).toEqual([]);
  });

  it.each(workflows)('%s reaches Slipway through its action or its package, never a checkout', (path) => {
    // Given the workflow as GitHub reads it
    const workflow = parse(readFileSync(path, 'utf8')) as Workflow;

    // Then no step checks Slipway out or installs its repository's packages: else rewrite it as the message says
    expect(slipwayCheckouts(path, workflow)).toEqual([]);
  });

  it('catches a workflow that checks out Slipway, so the check above can fail', () => {
    // Given the steps these examples used to have, beside an app's own npm ci
    const workflow: Workflow = {
      jobs: {
        deploy: {
          steps: [
            { uses: 'actions/checkout@v4', with: { repository: 'your-org/slipway', path: '.slipway-cli' } },
            { name: 'Install the Slipway CLI', run: 'npm ci --no-audit --no-fund' },
            { name: 'follow', run: 'npx slipway status shop' },
            { name: 'the app', run: 'npm ci && npm test' },
          ],
        },
      },
    };

    // Then each of the three is named, and the app's own install is not
    expect(slipwayCheckouts('deploy.yml', workflow)).toEqual([
      expect.stringMatching(/^deploy.yml, job deploy, step 1 checks out the Slipway repository: deploy with `uses:/),
      expect.stringMatching(/step Install the Slipway CLI runs npm ci/),
      expect.stringMatching(/step follow runs `npx slipway`/),
    ]);
  });
});

describe('action-validator', () => {
  // A workflow added under examples/ is validated here by itself; when it is refused, the output names what GitHub's
  // workflow schema rejects: fix the workflow, not this list.
  it.each(['actions/deploy/action.yml', ...workflows])('accepts %s', async (path) => {
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
