/**
 * `npx tsx scripts/build-worker.ts [--out FILE]`: bundles the backup worker's command line into one
 * self-contained ESM file (default dist/worker/slipway-worker.mjs) with its source map, the file the
 * worker image runs with a bare `node`: no node_modules, no tsx.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

export const DEFAULT_WORKER_OUT = 'dist/worker/slipway-worker.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

// The same entry bin/slipway-worker.mjs runs through tsx, so the bundle and the checkout behave alike.
const entry = `import { main } from ${JSON.stringify(resolve(root, 'lib/worker/cli.ts'))};
process.exitCode = await main(process.argv.slice(2));
`;

/** Writes the bundle and its .map to outFile (relative to the working directory); resolves with its size and the files in it. */
export async function buildWorker(outFile: string): Promise<{ bytes: number; inputs: string[] }> {
  const outfile = resolve(outFile);
  const { metafile } = await build({
    stdin: { contents: entry, resolveDir: root, sourcefile: 'slipway-worker-entry.ts', loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // As for the functions: ESM builds of dependencies shake better than their CommonJS ones.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: 'linked',
    // Error names are printed to people (`UpstreamFailed: ...`); minified names would say nothing.
    keepNames: true,
    // CommonJS dependencies inside an ESM bundle still call require() for built-ins.
    banner: {
      js: "import { createRequire as __slipwayCreateRequire } from 'node:module'; const require = __slipwayCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
    metafile: true,
  });
  return { bytes: statSync(outfile).size, inputs: Object.keys(metafile.inputs) };
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } }, strict: true });
  const out = values.out ?? DEFAULT_WORKER_OUT;
  const { bytes } = await buildWorker(out);
  process.stdout.write(`wrote ${out} (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
}

// Imported by the tests, run by the Dockerfile and by hand.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
