import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SERVERLESS_BIN, serverlessEnv } from '../../lib/local/serverless-cli';

const run = promisify(execFile);

export interface CloudFormationTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }>;
  Outputs?: Record<string, { Value: unknown }>;
}

/** Runs `sls package` for a stage into a fresh folder; resolves with the folder and output, or rejects with it. */
export async function packageStage(stage: string): Promise<{ dir: string; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), `slipway-package-${stage}-`));
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [SERVERLESS_BIN, 'package', '--stage', stage, '--package', dir],
      {
        env: serverlessEnv(),
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { dir, output: `${stdout}${stderr}` };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const failure = error as { stdout?: string; stderr?: string };
    throw new Error(`${failure.stdout ?? ''}${failure.stderr ?? ''}`);
  }
}

export function readTemplate(dir: string): CloudFormationTemplate {
  return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
}
