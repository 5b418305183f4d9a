import { join } from 'node:path';
import { build } from 'esbuild';

/** Bundles `source` as a function bundles what it imports (tree-shaken, not minified): its text and what carries bytes. */
async function bundle(source: string): Promise<{ text: string; inputs: string[] }> {
  const { outputFiles, metafile } = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    outfile: 'bundle.mjs',
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(metafile.outputs)[0];
  return {
    text: outputFiles.map((file) => file.text).join(''),
    inputs: Object.entries(output?.inputs ?? {})
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
  };
}

const from = (path: string) => JSON.stringify(join(process.cwd(), path));

describe("a route's bundle", () => {
  it('carries the schemas its own spec uses and none of the other routes of its capability or of another', async () => {
    // given the getBackup spec, taken from the module of every spec as its function takes it
    // when it is bundled
    const { text } = await bundle(
      `import * as routes from ${from('lib/http/route-specs.ts')};\nconsole.log(routes.getBackup);\n`,
    );

    // then its path schema is there, and no other route's input: not createRestore's, listBackups', getDeployment's nor listAudit's
    expect(text).toContain('expected a backup id such as bkp-3f2a');
    for (const other of [
      'expected kind rds, volume or postgres-dump',
      'Backups per page.',
      'expected a deployment id such as',
      'Entries per page.',
      'expected a cursor from a previous page',
    ]) {
      expect({ other, carried: text.includes(other) }).toEqual({ other, carried: false });
    }
  }, 60_000);

  it.each(['get-health', 'get-liveness', 'get-openapi'])(
    'functions/http/%s.ts, whose route takes no input, carries no input schema and no zod',
    async (route) => {
      // given a function whose route validates no path, query or body
      // when its handler is bundled
      const { inputs } = await bundle(`export * from ${from(`functions/http/${route}.ts`)};\n`);

      // then no route's schemas, no other spec and no zod ride in with its spec
      expect(
        inputs.filter((input) =>
          /^lib\/[a-z]+\/schemas\.ts$|^lib\/http\/route-specs\.ts$|node_modules\/zod\//.test(input),
        ),
      ).toEqual([]);
    },
    60_000,
  );
});
