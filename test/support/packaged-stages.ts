import { rmSync } from 'node:fs';
import { PACKAGED_STAGES, packagedStageVariable, packageStage } from './package';

/**
 * The template project's global setup and teardown: `sls package` once per stage in PACKAGED_STAGES
 * for every template test file (packaging every function takes most of a minute), each folder
 * handed to the test workers through the environment. One stage at a time: bundling every function
 * at once already takes gigabytes.
 */
export async function setup(): Promise<void> {
  for (const stage of PACKAGED_STAGES) {
    const { dir } = await packageStage(stage);
    process.env[packagedStageVariable(stage)] = dir;
  }
}

export async function teardown(): Promise<void> {
  for (const stage of PACKAGED_STAGES) {
    const dir = process.env[packagedStageVariable(stage)];
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
