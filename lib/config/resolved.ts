import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors';
import type { SlipwayConfig } from './schema';

/**
 * The stage's config as functions read it: resolved and validated from config/<stage>.yml when the
 * stage is packaged or started (lib/config/load.ts, writeResolvedConfig), shipped in each function's
 * package as JSON with the SHA-256 of that JSON beside it. A cold start reads and checks it, and
 * never loads the YAML parser nor the config schema.
 */
export const CONFIG_DIR = 'config';

export function resolvedConfigPath(stage: string, dir = CONFIG_DIR): string {
  return join(dir, `${stage}.resolved.json`);
}

interface ResolvedFile {
  sha256: string;
  config: string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The file's text: the config's JSON as a string, so its digest is of the very bytes read back. */
export function serializeResolvedConfig(config: SlipwayConfig): string {
  const json = JSON.stringify(config);
  const file: ResolvedFile = { sha256: sha256(json), config: json };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The config in a resolved file's text; `source` names the file in every error. */
export function parseResolvedConfig(text: string, source: string): SlipwayConfig {
  let file: Partial<ResolvedFile>;
  try {
    file = JSON.parse(text) as Partial<ResolvedFile>;
  } catch (error) {
    throw new ConfigError(`${source}: is not valid JSON; package the stage again`, { cause: error });
  }
  if (typeof file?.config !== 'string' || typeof file.sha256 !== 'string') {
    throw new ConfigError(`${source}: expected {sha256, config}; package the stage again`);
  }
  if (sha256(file.config) !== file.sha256) {
    throw new ConfigError(
      `${source}: the config's SHA-256 does not match the digest beside it; it was changed after it was written: package the stage again rather than edit it`,
    );
  }
  return JSON.parse(file.config) as SlipwayConfig;
}

export function readResolvedConfig(stage: string, dir = CONFIG_DIR): SlipwayConfig {
  const path = resolvedConfigPath(stage, dir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); sls package and npm start write it from config/${stage}.yml`,
      { cause: error },
    );
  }
  return parseResolvedConfig(text, path);
}
