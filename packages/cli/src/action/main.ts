import { appendFileSync } from 'node:fs';
import { runDeployAction } from './deploy';

/** The version of the package this was built from, put in by the build (build.mjs). */
declare const SLIPWAY_CLI_VERSION: string;

process.exitCode = await runDeployAction({
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  appendFile: (path, text) => appendFileSync(path, text),
  version: SLIPWAY_CLI_VERSION,
});
