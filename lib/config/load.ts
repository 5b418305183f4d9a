import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors';
import { configSchema, type SlipwayConfig } from './schema';
import { findSecretLikeValues } from './secret-scan';

export const CONFIG_DIR = 'config';

export function configPathFor(stage: string, dir = CONFIG_DIR): string {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(stage)) {
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
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    return issue.errors.flat().flatMap(describeIssue);
  }
  return [{ path: issue.path, message: issue.message }];
}

/** Parses and validates the text of a config file; `source` names it in every message. */
export function parseConfig(text: string, source: string): SlipwayConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const lines = document.errors.map((error) => {
      const at = error.pos ? lineCounter.linePos(error.pos[0]) : undefined;
      return `${source}${at ? `:${at.line}:${at.col}` : ''}: invalid YAML: ${error.message.split('\n')[0]}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  const raw: unknown = document.toJS() ?? {};

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
