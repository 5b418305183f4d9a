import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { parse, stringify } from 'yaml';
import { loadConfigFile, parseConfig } from '../../lib/config/load';
import { CONFIG_DIR, resolvedConfigPath } from '../../lib/config/resolved';
import type { SlipwayConfig } from '../../lib/config/schema';
import { type CloudFormationTemplate, packageStage, readTemplate } from './package';

/**
 * The worked examples under examples/<name>/, used as a team would use them: an example is a folder with a
 * slipway.yml (the config a team copies to config/<stage>.yml) and, beside it, its ECS task definitions
 * (ecs/*.json). Adding a folder adds it to the template tests; its integration flows are its own file.
 */

export const EXAMPLES_DIR = 'examples';

/** Every example that ships a config, in name order. */
export function examplesWithConfig(): string[] {
  return readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(EXAMPLES_DIR, entry.name, 'slipway.yml')))
    .map((entry) => entry.name)
    .sort();
}

/** The stage an example is packaged as: a name no committed config uses (.gitignore keeps these copies out). */
export const exampleStage = (example: string) => `example-${example}`;

export const exampleConfigPath = (example: string) => join(EXAMPLES_DIR, example, 'slipway.yml');

/** The first line of a config beside config/schema.json, which points editors at it: what a copy in config/ gets. */
const SCHEMA_LINE = /^# yaml-language-server: \$schema=\.\.\/\.\.\/config\/schema\.json$/m;
export const asCopiedToConfig = (text: string) =>
  text.replace(SCHEMA_LINE, '# yaml-language-server: $schema=./schema.json');

/**
 * What a team does with the example: its slipway.yml copied to config/<stage>.yml (its schema line pointing at
 * config/schema.json from there) and `sls package --stage <stage>`. The copy and the resolved config packaging
 * writes beside it are removed however packaging ends.
 */
export async function packageExample(
  example: string,
): Promise<{ stage: string; dir: string; template: CloudFormationTemplate }> {
  const stage = exampleStage(example);
  const copy = join(CONFIG_DIR, `${stage}.yml`);
  writeFileSync(copy, asCopiedToConfig(readFileSync(exampleConfigPath(example), 'utf8')));
  try {
    const { dir } = await packageStage(stage);
    return { stage, dir, template: readTemplate(dir) };
  } finally {
    rmSync(copy, { force: true });
    rmSync(resolvedConfigPath(stage), { force: true });
  }
}

/**
 * The example's config as Slipway loads it (lib/config/load.ts): the file as shipped must load; then `adjust`
 * points what must reach this machine (health URLs) there, in the file's own keys, and the adjusted file is
 * loaded the same way, so it too must be one Slipway accepts.
 */
export function loadExample(example: string, adjust?: (file: SlipwayConfigFile) => void): SlipwayConfig {
  const path = exampleConfigPath(example);
  const shipped = loadConfigFile(path);
  if (!adjust) return shipped;
  const file = parse(readFileSync(path, 'utf8')) as SlipwayConfigFile;
  adjust(file);
  return parseConfig(stringify(file), `${path} (adjusted for this machine)`);
}

/** A config file's keys as written: what `adjust` changes before Slipway reads the file. */
export type SlipwayConfigFile = {
  apps: Record<string, { environments: Record<string, { health?: Array<{ url: string }> }> }>;
} & Record<string, unknown>;

/**
 * One of the example's task definitions (examples/<name>/ecs/<file>) as RegisterTaskDefinition takes it, each
 * container named in `images` running that image instead of the file's placeholder. The files are production's;
 * another environment's is the same with `production` replaced by its name (family, roles, secrets, log group),
 * as each example's README says.
 */
export function exampleTaskDefinition(
  example: string,
  file: string,
  images: Record<string, string>,
  environment = 'production',
): RegisterTaskDefinitionCommandInput {
  const text = readFileSync(join(EXAMPLES_DIR, example, 'ecs', file), 'utf8');
  const registration = JSON.parse(text.replaceAll('production', environment)) as RegisterTaskDefinitionCommandInput;
  return {
    ...registration,
    containerDefinitions: (registration.containerDefinitions ?? []).map((container) => {
      const image = container.name ? images[container.name] : undefined;
      return image ? { ...container, image } : container;
    }),
  };
}

/** Every task definition file of an example. */
export function exampleTaskDefinitionFiles(example: string): string[] {
  const dir = join(EXAMPLES_DIR, example, 'ecs');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.json'))
        .sort()
    : [];
}

/**
 * Every GitHub Actions workflow under examples/, in path order: each .yml or .yaml file whose top level has `on` and
 * `jobs`, as GitHub's workflow syntax requires. Slipway configs (slipway.yml) and GitLab's .gitlab-ci.yml have
 * neither, so a new example's workflow is found wherever it sits.
 */
export function exampleWorkflowFiles(): string[] {
  return readdirSync(EXAMPLES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((path) => /\.ya?ml$/.test(path))
    .map((path) => join(EXAMPLES_DIR, path))
    .filter((path) => {
      const document: unknown = parse(readFileSync(path, 'utf8'));
      return typeof document === 'object' && document !== null && 'on' in document && 'jobs' in document;
    })
    .sort();
}
