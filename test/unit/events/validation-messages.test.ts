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
        'const { error } = ecsDeploymentEvent.safeParse({ id: "e-1", source: "aws.ecs", "detail-type": "ECS Deployment State Change", account: "123456789012", time: "t", resources: [] });\n' +
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

  it('an image push, an ECR event, a scan and an alarm refused without classic zod read as the classic build words them', async () => {
    // given the webhook parser and the release and alarm event schemas bundled alone, as their functions bundle them
    // when each refuses an input with one of zod's own reasons
    const { inputs, output } = await bundleAndRun(
      `import { parseRegistryPush } from ${from('lib/release/webhooks.ts')};\n` +
        `import { ecrImageActionEvent, imageScanEvent } from ${from('lib/release/ecr-events.ts')};\n` +
        `import { alarmStateChangeEvent } from ${from('lib/health/auto-rollback.ts')};\n` +
        `import { readFileSync } from 'node:fs';\n` +
        `const sample = (file) => JSON.parse(readFileSync(${from('events')} + '/' + file, 'utf8'));\n` +
        `const push = JSON.parse(readFileSync(${from('test/fixtures/webhooks/ghcr.package-published.json')}, 'utf8'));\n` +
        'push.package.updated_at = 1;\n' +
        'let refused;\n' +
        'try { parseRegistryPush(push, { "x-github-event": "package" }); } catch (error) { refused = error.message; }\n' +
        'const action = sample("ecr.image-push.tagged.json");\n' +
        'action.detail.result = "MAYBE";\n' +
        'const scan = sample("inspector2.scan.json");\n' +
        'scan.detail["finding-severity-counts"].HIGH = -1;\n' +
        'const alarm = sample("cloudwatch.alarm-state-change.json");\n' +
        'alarm.detail.alarmName = "";\n' +
        'const said = (schema, input) => schema.safeParse(input).error.issues.map((issue) => issue.path.join(".") + ": " + issue.message);\n' +
        'process.stdout.write(JSON.stringify([refused, ...said(ecrImageActionEvent, action), ...said(imageScanEvent, scan), ...said(alarmStateChangeEvent, alarm)]));\n',
    );

    // then no classic zod is bundled, and each reason reads as the classic build words it
    expect(inputs.filter((input) => /zod\/v4\/classic/.test(input))).toEqual([]);
    expect(output).toEqual([
      'body.package.updated_at: Invalid input: expected string, received number',
      'detail.result: Invalid option: expected one of "SUCCESS"|"FAILURE"',
      'detail.finding-severity-counts.HIGH: Too small: expected number to be >=0',
      'detail.alarmName: Too small: expected string to have >=1 characters',
    ]);
  }, 60_000);

  it("the ECR push schema, bundled as ecrImageAction bundles it, carries none of the scan events' schemas", async () => {
    // given the module of the release events, of which ecrImageAction reads the push only
    // when the push schema is bundled (tree-shaken, as every function is)
    const { outputFiles } = await build({
      stdin: {
        contents: `import { ecrImageActionEvent } from ${from('lib/release/ecr-events.ts')};\nconsole.log(ecrImageActionEvent);\n`,
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      outfile: join(dir, 'push.mjs'),
      logLevel: 'silent',
    });
    const text = outputFiles.map((file) => file.text).join('');

    // then the push's own checks are there, and the scan events' are not
    expect(text).toContain('expected a 12-digit account id');
    expect(['expected an ECR repository ARN', 'Inspector2 Scan'].filter((scan) => text.includes(scan))).toEqual([]);
  }, 60_000);

  it.each(['functions/schedules/take-archive.ts', 'functions/schedules/restore-drill.ts'])(
    '%s, which validates its schedule input, bundles no classic zod',
    async (handler) => {
      // given the function's handler, bundled as serverless-esbuild bundles it
      // when esbuild lists what it bundled
      const { metafile } = await build({
        entryPoints: [handler],
        bundle: true,
        platform: 'node',
        format: 'esm',
        write: false,
        outdir: dir,
        metafile: true,
        logLevel: 'silent',
      });

      // then zod is there in its mini build only
      const zod = Object.keys(metafile.inputs).filter((input) => /node_modules\/zod\//.test(input));
      expect(zod.some((input) => /zod\/v4\/mini/.test(input))).toBe(true);
      expect(zod.filter((input) => /zod\/v4\/classic/.test(input))).toEqual([]);
    },
    60_000,
  );
});
