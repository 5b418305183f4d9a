import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildWorker } from '../../../scripts/build-worker';

/** The worker image: what the Dockerfile promises, and proof that the bundle it copies needs nothing beside it. */

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile as stages of instructions: continuation lines joined, comments and parser directives dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') stages.push({ from: instruction.args, instructions: [] });
    else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const instructionsOf = (stage: Stage | undefined, keyword: string) =>
  (stage?.instructions ?? []).filter((instruction) => instruction.keyword === keyword);

const execForm = (args: string): unknown => JSON.parse(args);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runNode(file: string, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const dockerfile = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const buildStage = dockerfile.find((stage) => / AS build$/i.test(stage.from));
const runtime = dockerfile.at(-1);

/** The file the build stage asks scripts/build-worker.ts for. */
function bundlePathInBuildStage(): string {
  const build = instructionsOf(buildStage, 'RUN').find((run) => run.args.includes('scripts/build-worker.ts'));
  const out = /--out (\S+)/.exec(build?.args ?? '')?.[1];
  if (!out) throw new Error('the build stage does not run scripts/build-worker.ts --out FILE');
  return out;
}

describe('Dockerfile', () => {
  it('given a build stage and a runtime stage, when parsed, then both start from node 22 on Debian bookworm', () => {
    // then
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(buildStage?.from).toBe('node:22-bookworm-slim AS build');
    expect(runtime?.from).toMatch(/^node:22-bookworm-slim\b/);
    expect(runtime).not.toBe(buildStage);
  });

  it('given the runtime stage, when its user is read, then the last USER is the numeric non-root 10001', () => {
    // when
    const user = instructionsOf(runtime, 'USER').at(-1)?.args;

    // then
    expect(user).toBe('10001:10001');
    expect(instructionsOf(runtime, 'RUN').map((run) => run.args)).toContainEqual(
      expect.stringMatching(/useradd .*--uid 10001 --gid 10001 .*slipway$/),
    );
  });

  it('given the runtime stage, when its entrypoint and health check are read, then both run the bundle with node', () => {
    // when
    const entrypoint = instructionsOf(runtime, 'ENTRYPOINT').at(-1)?.args ?? 'null';
    const healthcheck = instructionsOf(runtime, 'HEALTHCHECK').at(-1)?.args ?? '';

    // then
    expect(execForm(entrypoint)).toEqual(['node', '/app/slipway-worker.mjs']);
    const [options, command] = healthcheck.split(/ CMD /);
    expect(options?.split(' ')).toEqual(['--interval=30s', '--timeout=10s', '--start-period=20s', '--retries=3']);
    expect(execForm(command ?? 'null')).toEqual(['node', '/app/slipway-worker.mjs', 'healthcheck']);
  });

  it('given the build stage, when the runtime copies from it, then it copies the bundle build-worker writes and its map', () => {
    // given
    const out = bundlePathInBuildStage();

    // when
    const copies = instructionsOf(runtime, 'COPY').filter((copy) => copy.args.startsWith('--from=build '));

    // then
    expect(copies.map((copy) => copy.args)).toEqual([`--from=build ${out} ${out}.map /app/`]);
    expect(`/app/${basename(out)}`).toBe('/app/slipway-worker.mjs');
  });

  it('given the runtime stage, when its packages are read, then the PostgreSQL 17 client comes from the PGDG repository', () => {
    // when
    const installs = instructionsOf(runtime, 'RUN')
      .map((run) => run.args)
      .filter((args) => args.includes('apt-get install'));

    // then
    expect(installs).toHaveLength(1);
    const [install = ''] = installs;
    expect(install).toMatch(/apt-get install -y --no-install-recommends postgresql-client-17 /);
    expect(install).toMatch(
      /deb \[signed-by=\/usr\/share\/keyrings\/postgresql-pgdg\.gpg\] https:\/\/apt\.postgresql\.org\/pub\/repos\/apt bookworm-pgdg main/,
    );
    expect(install).toMatch(/curl -fsSL https:\/\/www\.postgresql\.org\/media\/keys\/ACCC4CF8\.asc \| gpg --dearmor/);
    expect(install).toMatch(/apt-get purge -y --auto-remove curl gpg && rm -rf \/var\/lib\/apt\/lists\/\*/);
  });
});

describe('scripts/build-worker.ts', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-worker-bundle-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('given the worker command line, when bundled and run alone with no arguments, then it prints the usage and exits 2', async () => {
    // given
    const file = join(dir, 'slipway-worker.mjs');

    // when
    const { bytes } = await buildWorker(file);
    // A folder with no node_modules anywhere above it: every import must be inside the file.
    const run = await runNode(file, dir);

    // then
    expect(bytes).toBe(statSync(file).size);
    expect(existsSync(`${file}.map`)).toBe(true);
    expect(readFileSync(file, 'utf8')).toMatch(/\/\/# sourceMappingURL=slipway-worker\.mjs\.map\n$/);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^slipway-worker: /);
    expect(run.stderr).toContain('usage:');
  }, 60_000);

  it('given the worker command line, when bundled, then neither the X-Ray SDK nor the Tracer is in it', async () => {
    // when
    const { inputs } = await buildWorker(join(dir, 'slipway-worker.mjs'));

    // then: their async hooks would run on every chunk the worker streams
    expect(inputs.some((input) => input.includes('lib/worker/cli.ts'))).toBe(true);
    expect(inputs.filter((input) => /aws-xray-sdk|cls-hooked|@aws-lambda-powertools\/tracer/.test(input))).toEqual([]);
  }, 60_000);
});
