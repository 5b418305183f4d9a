/**
 * Builds the web console: esbuild bundles src/main.tsx and src/styles.css into content-hashed assets,
 * beside a static index.html (no inline script or style: the console's CSP allows neither) and a
 * manifest the control plane serves them by. `npm run build:console`; serverless/config.cjs calls
 * buildConsole() at package time.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'console', 'src');
/** Where the control plane serves the assets from (GET /console/assets/<file>). */
export const ASSETS_URL = '/console/assets';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface BuiltFile {
  bytes: number;
  gzipBytes: number;
}

export interface ConsoleBuild {
  /** Every file written, by its path under outDir (index.html, manifest.json, assets/app-<hash>.js…). */
  files: Record<string, BuiltFile>;
}

export interface ConsoleManifest {
  index: 'index.html';
  assets: Record<string, { contentType: string; bytes: number }>;
}

/** The page every console path answers: the two assets by their absolute paths, nothing inline. */
export function indexHtml(assets: { script: string; stylesheet: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Slipway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_URL}/${assets.stylesheet}">
<script type="module" src="${ASSETS_URL}/${assets.script}"></script>
</head>
<body>
<noscript><p>The Slipway console needs JavaScript.</p></noscript>
<div id="app"></div>
</body>
</html>
`;
}

/** How the console is bundled for browsers; the bench bundles its Preact floor the same way. */
export const BROWSER_BUILD_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  legalComments: 'none',
  charset: 'utf8',
  write: false,
  logLevel: 'silent',
} as const satisfies BuildOptions;

/**
 * Written beside and renamed over, so a reader sees the old file or the new one whole: two packagings of the same
 * checkout (the template tests run several at once) build the same files into the same folder.
 */
async function replaceFile(path: string, content: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

const sizes = (content: Uint8Array): BuiltFile => ({
  bytes: content.byteLength,
  gzipBytes: gzipSync(content).byteLength,
});

/**
 * Bundles `sourceDir`'s main.tsx and styles.css into `<outDir>/assets/app-<hash>.{js,css}` and writes
 * index.html and manifest.json beside them; earlier builds' assets are removed once this one is written.
 */
export async function bundleConsole(options: {
  sourceDir: string;
  outDir: string;
  minify: boolean;
}): Promise<ConsoleBuild> {
  const outDir = resolve(options.outDir);
  const result = await build({
    entryPoints: [
      { in: join(options.sourceDir, 'main.tsx'), out: 'app' },
      { in: join(options.sourceDir, 'styles.css'), out: 'app' },
    ],
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    ...BROWSER_BUILD_OPTIONS,
    minify: options.minify,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    absWorkingDir: ROOT,
  });
  const script = result.outputFiles.find((file) => file.path.endsWith('.js'));
  const stylesheet = result.outputFiles.find((file) => file.path.endsWith('.css'));
  if (!script || !stylesheet) throw new Error('esbuild wrote no app-<hash>.js and app-<hash>.css');

  await mkdir(join(outDir, 'assets'), { recursive: true });
  const files: Record<string, BuiltFile> = {};
  const manifest: ConsoleManifest = { index: 'index.html', assets: {} };
  for (const file of [script, stylesheet]) {
    const name = basename(file.path);
    await replaceFile(file.path, file.contents);
    files[relative(outDir, file.path).split('\\').join('/')] = sizes(file.contents);
    manifest.assets[name] = {
      contentType: CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] as string,
      bytes: file.contents.byteLength,
    };
  }
  const written = {
    'index.html': indexHtml({ script: basename(script.path), stylesheet: basename(stylesheet.path) }),
    'manifest.json': `${JSON.stringify(manifest, null, 2)}\n`,
  };
  for (const [name, text] of Object.entries(written)) {
    const content = new TextEncoder().encode(text);
    await replaceFile(join(outDir, name), content);
    files[name] = sizes(content);
  }
  // Earlier builds' assets go once this one is complete: a build never leaves a moment with no asset.
  for (const name of await readdir(join(outDir, 'assets'))) {
    if (!(name in manifest.assets) && !name.includes('.tmp-')) {
      await rm(join(outDir, 'assets', name), { force: true });
    }
  }
  return { files };
}

/** The console as the control plane serves it, into generated/console unless told otherwise. */
export function buildConsole(options: { outDir?: string; minify?: boolean } = {}): Promise<ConsoleBuild> {
  return bundleConsole({
    sourceDir: SOURCE,
    outDir: options.outDir ?? join(ROOT, 'generated', 'console'),
    minify: options.minify ?? true,
  });
}

// No top-level await: serverless/config.cjs requires this module as CommonJS.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildConsole().then(
    ({ files }) => {
      for (const [name, file] of Object.entries(files)) {
        process.stdout.write(`generated/console/${name}: ${file.bytes} bytes, ${file.gzipBytes} gzipped\n`);
      }
    },
    (error: Error) => {
      process.stderr.write(`console build failed: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
