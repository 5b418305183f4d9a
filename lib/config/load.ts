import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Document, LineCounter, parseDocument, visit } from 'yaml';
import type * as z from 'zod';
import { ConfigError } from '../errors';
import { NAME_PATTERN } from './names';
import { CONFIG_DIR, resolvedConfigPath, serializeResolvedConfig } from './resolved';
import { configSchema, type SlipwayConfig } from './schema';
import { findSecretLikeValues } from './secret-scan';

export { CONFIG_DIR };

export function configPathFor(stage: string, dir = CONFIG_DIR): string {
  if (!NAME_PATTERN.test(stage)) {
    throw new ConfigError(`stage ${JSON.stringify(stage)}: expected lowercase letters, digits and dashes`);
  }
  return join(dir, `${stage}.yml`);
}

/** `apps.shop.environments.production.approvals`, `health[0].url`. */
export function formatKeyPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeIssue(issue: z.core.$ZodIssue): Array<{ path: PropertyKey[]; message: string }> {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key], message: 'is not a known key' }));
  }
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    // The key itself is wrong (apps.Shop): report what a key must be, not the map's own message.
    return issue.issues.map((inner) => ({ path: issue.path, message: inner.message }));
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    return issue.errors.flat().flatMap(describeIssue);
  }
  return [{ path: issue.path, message: issue.message }];
}

/** Aliases with no anchor before them; the YAML parser reports these only when the document is converted. */
function unresolvedAliases(document: Document): Array<{ name: string; offset: number | undefined }> {
  const found: Array<{ name: string; offset: number | undefined }> = [];
  visit(document, {
    Alias(_key, alias) {
      if (!alias.resolve(document)) found.push({ name: alias.source, offset: alias.range?.[0] });
    },
  });
  return found;
}

/** Parses and validates the text of a config file; `source` names it in every message. */
export function parseConfig(text: string, source: string): SlipwayConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return source;
    const { line, col } = lineCounter.linePos(offset);
    return `${source}:${line}:${col}`;
  };
  const syntaxErrors = [
    ...document.errors.map((error) => `${at(error.pos?.[0])}: invalid YAML: ${error.message.split('\n')[0]}`),
    ...unresolvedAliases(document).map(
      ({ name, offset }) =>
        `${at(offset)}: invalid YAML: *${name} is an alias, but no &${name} anchor comes before it; quote the value ("*${name}") if it is not meant as an alias`,
    ),
  ];
  if (syntaxErrors.length > 0) throw new ConfigError(syntaxErrors.join('\n'));
  let raw: unknown;
  try {
    raw = document.toJS() ?? {};
  } catch (error) {
    // Alias expansion limits (a "billion laughs" file) surface only here.
    throw new ConfigError(`${source}: invalid YAML: ${(error as Error).message}`, { cause: error });
  }

  const secrets = findSecretLikeValues(raw);
  if (secrets.length > 0) {
    throw new ConfigError(
      secrets
        .map(
          (finding) =>
            `${source}: ${formatKeyPath(finding.path)}: looks like ${finding.reason}; config files hold no secret values: store it in AWS Secrets Manager and put the secret's name here instead`,
        )
        .join('\n'),
    );
  }

  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const lines = result.error.issues
      .flatMap(describeIssue)
      .map(({ path, message }) => `${source}: ${formatKeyPath(path)}: ${message}`);
    throw new ConfigError([...new Set(lines)].join('\n'), { cause: result.error });
  }
  return result.data;
}

export function loadConfigFile(path: string): SlipwayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  return parseConfig(text, path);
}

export function loadStageConfig(stage: string, dir = CONFIG_DIR): SlipwayConfig {
  return loadConfigFile(configPathFor(stage, dir));
}

/**
 * Validates config/<stage>.yml and writes what functions read at cold start (lib/config/resolved.ts),
 * through a temporary file, so a function starting meanwhile reads the old file or the new one, whole.
 */
export function writeResolvedConfig(stage: string, dir = CONFIG_DIR): SlipwayConfig {
  const config = loadStageConfig(stage, dir);
  const path = resolvedConfigPath(stage, dir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, serializeResolvedConfig(config));
  renameSync(temporary, path);
  return config;
}
