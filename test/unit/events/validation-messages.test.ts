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

describe('validation messages where only zod/mini is bundled', () => {
  it('an event refused by a function that carries no classic zod names the field and the reason in English', async () => {
    // given the ECS event schema bundled alone, as the event functions bundle it (zod/mini, no classic build)
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { ecsDeploymentEvent } from ${JSON.stringify(join(process.cwd(), 'lib/deploy/outcome.ts'))};\n` +
        'const { error } = ecsDeploymentEvent.safeParse({ id: "e-1", source: "aws.ecs", "detail-type": "ECS Deployment State Change", time: "t", resources: [] });\n' +
        'process.stdout.write(JSON.stringify(error.issues.map((issue) => issue.path.join(".") + ": " + issue.message)));\n',
    );
    const { metafile } = await build({
      entryPoints: [entry],
      outfile: join(dir, 'bundle.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
    });
    expect(Object.keys(metafile.inputs).filter((input) => /zod\/v4\/classic/.test(input))).toEqual([]);
    // when it refuses an event
    const output = execFileSync(process.execPath, [join(dir, 'bundle.mjs')], { encoding: 'utf8' });
    // then each issue says what was expected, as the classic build would
    expect(JSON.parse(output)).toEqual([
      'resources: Too small: expected array to have >=1 items',
      'detail: Invalid input: expected object, received undefined',
    ]);
  }, 60_000);
});
