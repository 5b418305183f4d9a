import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuildReport, type LocalBundles, watchBundles } from '../../lib/local/bundles';
import { readEsbuildSettings } from '../../lib/local/esbuild-options';

// jest runs from the project's folder.
const ROOT = process.cwd();

let dir: string;
let bundles: LocalBundles | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-local-bundles-'));
  mkdirSync(join(dir, 'functions'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'shared.ts'), "export const greeting = (who: string) => 'hello ' + who;\n");
  writeFileSync(
    join(dir, 'functions', 'one.ts'),
    "import { greeting } from '../shared';\nexport const handler = async () => greeting('one');\n",
  );
  writeFileSync(
    join(dir, 'functions', 'two.ts'),
    "import { greeting } from '../shared';\nexport const handler = async () => greeting('two');\n",
  );
});

afterEach(async () => {
  await bundles?.stop();
  bundles = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function nextBuild(builds: BuildReport[], count: number): Promise<BuildReport> {
  const deadline = Date.now() + 30_000;
  while (builds.length < count) {
    if (Date.now() > deadline) throw new Error('no rebuild within 30 s');
    await new Promise((done) => setTimeout(done, 20));
  }
  return builds[count - 1] as BuildReport;
}

/** Both handlers bundled as serverless.yml says, watched; every build's report lands in `builds`. */
async function startBundles(): Promise<{ builds: BuildReport[]; outdir: string }> {
  const builds: BuildReport[] = [];
  const outdir = join(dir, 'out');
  bundles = await watchBundles({
    root: dir,
    outdir,
    entries: ['functions/one.ts', 'functions/two.ts'],
    settings: readEsbuildSettings(ROOT),
    onBuild: (report) => builds.push(report),
  });
  return { builds, outdir };
}

describe('npm start bundles (one esbuild context for every function)', () => {
  it('builds every entry with serverless.yml options, then rewrites only the edited entry on a change', async () => {
    // given: two handlers sharing a module, bundled as serverless.yml says
    const { builds, outdir } = await startBundles();
    expect(builds[0]?.errors).toEqual([]);
    expect(JSON.parse(readFileSync(join(outdir, 'package.json'), 'utf8'))).toEqual({ type: 'module' });
    const one = await import(join(outdir, 'functions', 'one.js'));
    expect(await one.handler()).toBe('hello one');

    // when: one handler is edited
    writeFileSync(
      join(dir, 'functions', 'one.ts'),
      "import { greeting } from '../shared';\nexport const handler = async () => greeting('edited');\n",
    );
    const rebuild = await nextBuild(builds, 2);

    // then: its bundle (and its source map) is rewritten, the other handler's and the shared chunk are not
    expect(rebuild.errors).toEqual([]);
    expect(rebuild.rewritten.filter((path) => !path.endsWith('.map'))).toEqual([join('functions', 'one.js')]);
    expect(rebuild.removed).toEqual([]);
    expect(readFileSync(join(outdir, 'functions', 'one.js'), 'utf8')).toContain('edited');
  });

  it('keeps the previous outputs and reports the error when an edit does not compile', async () => {
    // given
    const { builds, outdir } = await startBundles();
    const before = readFileSync(join(outdir, 'functions', 'one.js'), 'utf8');

    // when
    writeFileSync(join(dir, 'functions', 'one.ts'), 'export const handler = async () => {\n');
    const rebuild = await nextBuild(builds, 2);

    // then
    expect(rebuild.errors).toEqual([expect.stringContaining('functions/one.ts:')]);
    expect(rebuild.rewritten).toEqual([]);
    expect(readFileSync(join(outdir, 'functions', 'one.js'), 'utf8')).toBe(before);
  });
});
