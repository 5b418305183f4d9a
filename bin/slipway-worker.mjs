#!/usr/bin/env node
// In a checkout the TypeScript runs through tsx; a packaged image runs a bundled build of the same module.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/worker/cli.ts');
process.exitCode = await main(process.argv.slice(2));
