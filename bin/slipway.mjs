#!/usr/bin/env node
// In a checkout the CLI package's TypeScript runs through tsx, as bin/slipway-worker.mjs does.
import { readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const { runInProcess } = await import('../packages/cli/src/process-main.ts');
const { version } = JSON.parse(readFileSync(new URL('../packages/cli/package.json', import.meta.url), 'utf8'));
process.exitCode = await runInProcess(version);
