import { rmSync } from 'node:fs';
import { packageStage } from './package';

/**
 * The template project's global setup and teardown: `sls package --stage prod` once for every
 * template test file (packaging every function takes most of a minute), its folder handed to the
 * test workers through the environment.
 */
export const PACKAGED_PROD = 'SLIPWAY_TEST_PACKAGED_PROD';

export async function setup(): Promise<void> {
  const { dir } = await packageStage('prod');
  process.env[PACKAGED_PROD] = dir;
}

export async function teardown(): Promise<void> {
  const dir = process.env[PACKAGED_PROD];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
