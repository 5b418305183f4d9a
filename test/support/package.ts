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
        // Minutes on a busy machine: bundling every function is most of it.
        timeout: 420_000,
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

/** The stages the template project packages once for every test file: prod, and every feature on at once. */
export const PACKAGED_STAGES = ['prod', 'kitchen-sink'] as const;
export type PackagedStage = (typeof PACKAGED_STAGES)[number];

/** Where the template project's global setup tells the test workers it packaged a stage. */
export function packagedStageVariable(stage: PackagedStage): string {
  return `SLIPWAY_TEST_PACKAGED_${stage.replace(/-/g, '_').toUpperCase()}`;
}

/** A stage's package from the template project's global setup, or a fresh one when a file runs alone. */
export async function packagedStage(stage: PackagedStage): Promise<{ dir: string; owned: boolean }> {
  const shared = process.env[packagedStageVariable(stage)];
  if (shared) return { dir: shared, owned: false };
  const { dir } = await packageStage(stage);
  return { dir, owned: true };
}

export function packagedProd(): Promise<{ dir: string; owned: boolean }> {
  return packagedStage('prod');
}
