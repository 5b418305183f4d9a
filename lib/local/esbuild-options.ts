import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { parse } from 'yaml';

/**
 * The esbuild options every function is bundled with, from serverless.yml's `custom.esbuild`, so
 * that `npm start`, the benchmark and the bundle-budget test build exactly as `sls package` does.
 */
export type EsbuildSettings = Record<string, unknown>;

/** serverless-esbuild's own keys, which it removes before calling esbuild (its dist/bundle.js). */
const PLUGIN_KEYS = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'config',
  'plugins',
]);

const strings = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string');

/** What serverless-esbuild passes esbuild for these settings: its defaults, then `custom.esbuild`. */
export function esbuildOptionsFrom(settings: EsbuildSettings): BuildOptions {
  if (settings.config !== undefined || settings.plugins !== undefined) {
    throw new Error(
      'custom.esbuild.config and custom.esbuild.plugins are not read here: keep the options in serverless.yml',
    );
  }
  const options: Record<string, unknown> = { bundle: true, platform: 'node' };
  for (const [key, value] of Object.entries(settings)) {
    if (PLUGIN_KEYS.has(key)) continue;
    const variable = /\$\{[^}]*\}/.exec(JSON.stringify(value))?.[0];
    if (variable) throw new Error(`custom.esbuild.${key} holds ${variable}, which only serverless resolves`);
    options[key] = value;
  }
  const exclude = strings(settings.exclude ?? ['aws-sdk']);
  options.external = [...strings(settings.external ?? []), ...(exclude.includes('*') ? [] : exclude)];
  const extension = settings.outputFileExtension ?? '.js';
  if (extension !== '.js') options.outExtension = { '.js': extension };
  return options as BuildOptions;
}

/** `custom.esbuild` as serverless.yml writes it, read without serverless (its keys hold no variables). */
export function readEsbuildSettings(root: string): EsbuildSettings {
  const service = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as { custom: { esbuild: EsbuildSettings } };
  return service.custom.esbuild;
}
