import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-messages-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bundles `source` alone, as a function bundles what it imports, runs it and returns its inputs and its output. */
async function bundleAndRun(source: string): Promise<{ inputs: string[]; output: unknown }> {
  const entry = join(dir, 'entry.ts');
  writeFileSync(entry, source);
  const { metafile } = await build({
    entryPoints: [entry],
    outfile: join(dir, 'bundle.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });
  const output = execFileSync(process.execPath, [join(dir, 'bundle.mjs')], { encoding: 'utf8' });
  return { inputs: Object.keys(metafile.inputs), output: JSON.parse(output) };
}

const from = (path: string) => JSON.stringify(join(process.cwd(), path));

describe('validation messages where only zod/mini is bundled', () => {
  it('an event refused by a function that carries no classic zod names the field and the reason in English', async () => {
    // given the ECS event schema bundled alone, as the event functions bundle it (zod/mini, no classic build)
    // when it refuses an event
    const { inputs, output } = await bundleAndRun(
      `import { ecsDeploymentEvent } from ${from('lib/deploy/outcome.ts')};\n` +
        'const { error } = ecsDeploymentEvent.safeParse({ id: "e-1", source: "aws.ecs", "detail-type": "ECS Deployment State Change", time: "t", resources: [] });\n' +
        'process.stdout.write(JSON.stringify(error.issues.map((issue) => issue.path.join(".") + ": " + issue.message)));\n',
    );

    // then each issue says what was expected, as the classic build would
    expect(inputs.filter((input) => /zod\/v4\/classic/.test(input))).toEqual([]);
    expect(output).toEqual([
      'resources: Too small: expected array to have >=1 items',
      'detail: Invalid input: expected object, received undefined',
    ]);
  }, 60_000);

  it("a request refused by a route's spec, bundled without the registry or classic zod, reads as the classic build's", async () => {
    // given the createRestore and takeBackup specs bundled alone, as their handlers import them
    // when each refuses an input, through Standard Schema's validate as the route chain calls it
    const { inputs, output } = await bundleAndRun(
      `import * as routes from ${from('lib/http/route-specs.ts')};\n` +
        'const said = (schema, input) => schema["~standard"].validate(input).issues.map((issue) => issue.path.join(".") + ": " + issue.message);\n' +
        'process.stdout.write(JSON.stringify([\n' +
        '  ...said(routes.createRestore.body, { database: "d", pointInTime: "latest", targetIdentifier: "shop-restore", overrides: { dbSubnetGroupName: "" } }),\n' +
        '  ...said(routes.takeBackup.body, { volume: "v", kind: "postgres-dump" }),\n' +
        ']));\n',
    );

    // then zod's own reason reads as the classic build words it, and the route's own as it is written
    expect(inputs.filter((input) => /zod\/v4\/classic|lib\/http\/(registry|openapi)\.ts/.test(input))).toEqual([]);
    expect(output).toEqual([
      'overrides.dbSubnetGroupName: Too small: expected string to have >=1 characters',
      'kind: applies to a database only; a volume is archived',
    ]);
  }, 60_000);
});
