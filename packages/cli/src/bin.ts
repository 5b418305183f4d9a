import { runInProcess } from './process-main';

/** The package's version, put in by the build (build.mjs). */
declare const SLIPWAY_CLI_VERSION: string;

process.exitCode = await runInProcess(SLIPWAY_CLI_VERSION);
