import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

function runFile(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, options, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const runNode = (file: string, cwd: string) => runFile(process.execPath, [file], { cwd, timeout: 30_000 });

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

  it('given the runtime stage, when its packages are read, then the PostgreSQL client comes from the PGDG repository, its major chosen by scripts/pg-client-major.sh, beside Debian’s sqlite3', () => {
    // when
    const installs = instructionsOf(runtime, 'RUN')
      .map((run) => run.args)
      .filter((args) => args.includes('apt-get install'));

    // then
    expect(installs).toHaveLength(1);
    const [install = ''] = installs;
    expect(install).toMatch(
      /^--mount=type=bind,source=scripts\/pg-client-major\.sh,target=\/tmp\/pg-client-major\.sh apt-get update /,
    );
    expect(install).toMatch(
      /deb \[signed-by=\/usr\/share\/keyrings\/postgresql-pgdg\.gpg\] https:\/\/apt\.postgresql\.org\/pub\/repos\/apt bookworm-pgdg main"/,
    );
    expect(install).toMatch(/curl -fsSL https:\/\/www\.postgresql\.org\/media\/keys\/ACCC4CF8\.asc \| gpg --dearmor/);
    // The major is chosen after PGDG is a source, and everything installed or linked is that major.
    expect(install).toMatch(
      /> \/etc\/apt\/sources\.list\.d\/pgdg\.list && apt-get update && major="\$\(bash \/tmp\/pg-client-major\.sh\)" && apt-get install -y --no-install-recommends "postgresql-client-\$\{major\}" sqlite3 && for tool in pg_dump pg_restore psql; do ln -s "\/usr\/lib\/postgresql\/\$\{major\}\/bin\/\$\{tool\}" \/usr\/local\/bin\/; done /,
    );
    expect(install).not.toMatch(/postgresql-client-\d/);
    expect(install).toMatch(/apt-get purge -y --auto-remove curl gpg && rm -rf \/var\/lib\/apt\/lists\/\*/);
    // sqlite3 takes and checks volumes' SQLite databases (lib/worker/volume/sqlite.ts), and stays.
    expect(install).not.toMatch(/purge[^&]*sqlite3/);
    // PG_MAJOR is a build argument with no default: unset, the newest major is installed.
    expect(instructionsOf(runtime, 'ARG').map((arg) => arg.args)).toContain('PG_MAJOR');
    // No version left in PATH: the tools are found through /usr/local/bin.
    expect(instructionsOf(runtime, 'ENV').map((env) => env.args)).not.toContainEqual(
      expect.stringMatching(/postgresql/),
    );
  });
});

describe("scripts/pg-client-major.sh (the image's PostgreSQL client major)", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-pg-major-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the script with an apt-cache that lists `packages` as `apt-cache search` prints them. */
  function choose(packages: string[], env: Record<string, string> = {}): Promise<Run> {
    const listing = join(dir, 'listing');
    writeFileSync(listing, packages.map((name) => `${name} - ${name.replace(/-/g, ' ')}\n`).join(''));
    const aptCache = join(dir, 'apt-cache');
    // Only the search the script makes is answered: its arguments are checked, and the listing is filtered as apt would.
    writeFileSync(
      aptCache,
      `#!/bin/bash\n[ "$1 $2 $3" = "search --names-only ^postgresql-client-[0-9]+$" ] || { echo "unexpected: $*" >&2; exit 64; }\ngrep -E '^postgresql-client-[0-9]+ ' ${JSON.stringify(listing)} || true\n`,
      { mode: 0o755 },
    );
    return runFile('bash', ['scripts/pg-client-major.sh'], {
      env: { PATH: `${dir}:${process.env.PATH}`, ...env },
      timeout: 10_000,
    });
  }

  const PGDG_BOOKWORM = [
    'postgresql-client',
    'postgresql-client-common',
    'postgresql-client-13',
    'postgresql-client-14',
    'postgresql-client-15',
    'postgresql-client-16',
    'postgresql-client-17',
    'postgresql-client-18',
  ];

  it('given PGDG lists clients 13 to 18 and the meta packages, when no major is pinned, then 18, the newest', async () => {
    // when
    const run = await choose(PGDG_BOOKWORM);

    // then
    expect(run).toEqual({ code: 0, stdout: '18\n', stderr: '' });
  });

  it('given a newer major is released, when the image is built again, then that one: numerically newest, not by name', async () => {
    // when
    const run = await choose([...PGDG_BOOKWORM, 'postgresql-client-19', 'postgresql-client-9']);

    // then
    expect(run).toEqual({ code: 0, stdout: '19\n', stderr: '' });
  });

  it('given PG_MAJOR, when chosen, then that major', async () => {
    // when
    const run = await choose([...PGDG_BOOKWORM, 'postgresql-client-19'], { PG_MAJOR: '18' });

    // then
    expect(run).toEqual({ code: 0, stdout: '18\n', stderr: '' });
  });

  it.each([
    [
      "PGDG missing from the sources (only Debian's 15)",
      ['postgresql-client', 'postgresql-client-15'],
      {},
      /^pg-client-major: PostgreSQL 15's pg_dump cannot dump PostgreSQL 18 servers/,
    ],
    [
      'PG_MAJOR older than 18',
      PGDG_BOOKWORM,
      { PG_MAJOR: '17' },
      /^pg-client-major: PostgreSQL 17's pg_dump cannot dump PostgreSQL 18 servers/,
    ],
    [
      'PG_MAJOR that is not a major',
      PGDG_BOOKWORM,
      { PG_MAJOR: '18.1' },
      /^pg-client-major: PG_MAJOR is a major version such as 18, not "18\.1"/,
    ],
    [
      'no client package at all',
      ['postgresql-client-common'],
      {},
      /^pg-client-major: no postgresql-client-NN package to install/,
    ],
  ])('given %s, when chosen, then the build fails saying why', async (_, packages, env, message) => {
    // when
    const run = await choose(packages, env);

    // then
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
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
