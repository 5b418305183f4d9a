import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole, bundleConsole, type ConsoleManifest } from '../../../console/build';

/** The console's build: hashed assets, a static index.html the CSP allows, and the manifest the server reads. */

const temp = (name: string) => mkdtempSync(join(tmpdir(), `slipway-console-${name}-`));
/** [the stylesheet, the script]. */
const assetsOf = (outDir: string) =>
  readdirSync(join(outDir, 'assets')).sort(
    (a, b) =>
      a
        .split('.')
        .pop()
        ?.localeCompare(b.split('.').pop() ?? '') ?? 0,
  );

describe('buildConsole', () => {
  let outDir: string;
  beforeAll(() => {
    outDir = temp('out');
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('writes the app and its stylesheet under content-hashed names, index.html and the manifest', async () => {
    // when the console is built into a temporary folder
    const { files } = await buildConsole({ outDir });
    // then it holds one script and one stylesheet, each named app-<hash>
    const assets = assetsOf(outDir);
    expect(assets).toEqual([
      expect.stringMatching(/^app-[A-Z0-9]{8}\.css$/),
      expect.stringMatching(/^app-[A-Z0-9]{8}\.js$/),
    ]);
    expect(Object.keys(files).sort()).toEqual(
      ['index.html', 'manifest.json', ...assets.map((name) => `assets/${name}`)].sort(),
    );
    for (const file of Object.values(files)) expect(file.gzipBytes).toBeLessThan(file.bytes);
    // and the manifest names each with its type and size
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as ConsoleManifest;
    const [css, js] = assets as [string, string];
    expect(manifest).toEqual({
      index: 'index.html',
      assets: {
        [js]: { contentType: 'text/javascript; charset=utf-8', bytes: readFileSync(join(outDir, 'assets', js)).length },
        [css]: { contentType: 'text/css; charset=utf-8', bytes: readFileSync(join(outDir, 'assets', css)).length },
      },
    });
  });

  it('writes an index.html with no inline script or style, referencing both assets by absolute path', () => {
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    const [css, js] = assetsOf(outDir);
    expect(html).toContain(`<script type="module" src="/console/assets/${js}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="/console/assets/${css}">`);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    // The CSP (script-src 'self'; style-src 'self') refuses any of these.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it('bundles the app for browsers: nothing of node, and no token kept in web storage', () => {
    const js = assetsOf(outDir).find((name) => name.endsWith('.js')) as string;
    const bundle = readFileSync(join(outDir, 'assets', js), 'utf8');
    expect(bundle).not.toMatch(/(^|[;}])\s*import\s*[{*\w]/);
    expect(bundle).not.toContain('localStorage');
    expect(bundle).not.toMatch(/process\.env|node:/);
  });
});

describe('the assets’ names', () => {
  let sourceDir: string;
  let outDir: string;
  beforeEach(() => {
    sourceDir = temp('src');
    outDir = temp('out');
    writeFileSync(join(sourceDir, 'main.tsx'), "document.title = 'one';\n");
    writeFileSync(join(sourceDir, 'styles.css'), 'body { color: #111; }\n');
  });
  afterEach(() => {
    rmSync(sourceDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  it('change with their content and only then, and leave no older build behind', async () => {
    // given a first build
    await bundleConsole({ sourceDir, outDir, minify: true });
    const [firstCss, firstJs] = assetsOf(outDir);
    // when it is built again unchanged, then the names are the same
    await bundleConsole({ sourceDir, outDir, minify: true });
    expect(assetsOf(outDir)).toEqual([firstCss, firstJs]);
    // when the stylesheet changes, then its name changes and the script's does not
    writeFileSync(join(sourceDir, 'styles.css'), 'body { color: #222; }\n');
    await bundleConsole({ sourceDir, outDir, minify: true });
    const [secondCss, secondJs] = assetsOf(outDir);
    expect(secondCss).not.toBe(firstCss);
    expect(secondJs).toBe(firstJs);
    // when the script changes, then its name changes
    writeFileSync(join(sourceDir, 'main.tsx'), "document.title = 'two';\n");
    await bundleConsole({ sourceDir, outDir, minify: true });
    const [, thirdJs] = assetsOf(outDir);
    expect(thirdJs).not.toBe(secondJs);
    // and index.html references the newest names only
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    expect(html).toContain(thirdJs);
    expect(html).toContain(secondCss);
    expect(assetsOf(outDir)).toHaveLength(2);
  });

  it('leaves one whole build when several packagings build into the same folder at once', async () => {
    // given four builds of the same sources at the same time (sls package of several stages in parallel)
    await Promise.all([1, 2, 3, 4].map(() => bundleConsole({ sourceDir, outDir, minify: true })));
    // then the folder holds one build: both assets, named by the manifest, and no half-written file
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as ConsoleManifest;
    expect(readdirSync(join(outDir, 'assets')).sort()).toEqual(Object.keys(manifest.assets).sort());
    for (const [name, { bytes }] of Object.entries(manifest.assets)) {
      expect(readFileSync(join(outDir, 'assets', name)).byteLength).toBe(bytes);
    }
    expect(readdirSync(outDir).sort()).toEqual(['assets', 'index.html', 'manifest.json']);
  });
});
