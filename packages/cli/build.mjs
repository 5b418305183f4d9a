// The package's build, and the GitHub Action's: each one ES module for Node 20, bundled by esbuild.
//   node build.mjs                      dist/slipway.js, the `slipway` bin (cli-table3 stays a dependency)
//   node build.mjs --action [outfile]   the deploy action, whole (default ../../actions/deploy/dist/index.js)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));

const common = {
  // Paths in the bundle's comments are relative to this folder, wherever the build is started from.
  absWorkingDir: here,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  logLevel: 'warning',
  define: { SLIPWAY_CLI_VERSION: JSON.stringify(version) },
};

/** cli-table3 has no side effects: a bundle that draws no table (the action) leaves it out. */
const tablesOnlyWhenDrawn = {
  name: 'tables-only-when-drawn',
  setup(plugin) {
    plugin.onResolve({ filter: /^cli-table3$/ }, async (args) => {
      if (args.pluginData === 'resolving') return undefined;
      const resolved = await plugin.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: 'resolving',
      });
      return { ...resolved, sideEffects: false };
    });
  },
};

const [flag, outfile] = process.argv.slice(2);
if (flag === '--action') {
  await build({
    ...common,
    entryPoints: [join(here, 'src/action/main.ts')],
    outfile: outfile ?? join(here, '../../actions/deploy/dist/index.js'),
    plugins: [tablesOnlyWhenDrawn],
    banner: { js: '// Built by packages/cli/build.mjs --action from packages/cli/src/action; do not edit.' },
  });
} else if (flag === undefined) {
  await build({
    ...common,
    entryPoints: [join(here, 'src/bin.ts')],
    outfile: join(here, 'dist/slipway.js'),
    external: ['cli-table3'],
    banner: { js: '#!/usr/bin/env node' },
  });
} else {
  console.error('usage: node build.mjs [--action [outfile]]');
  process.exit(2);
}
