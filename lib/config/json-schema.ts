/**
 * The JSON Schema of config/<stage>.yml, generated from `configSchema` so that
 * editors (the YAML language server) check a file as it is typed. It describes
 * what may be written (zod's input side: keys with defaults are optional).
 * Rules the JSON Schema cannot express, such as promoteFrom naming another
 * environment, are still enforced when the file is loaded.
 */
import * as z from 'zod';
import { configSchema } from './schema';

export const CONFIG_JSON_SCHEMA_PATH = 'config/schema.json';

type JsonSchemaNode = Record<string, unknown>;

/** "Exactly one of these keys", which the zod refinements check but zod cannot turn into JSON Schema. */
const EXACTLY_ONE_OF: string[][] = [
  ['tags', 'regexp', 'semver'],
  ['rdsInstance', 'rdsCluster'],
];

function addExactlyOneOf(node: JsonSchemaNode): void {
  const properties = node.properties;
  if (!properties || typeof properties !== 'object') return;
  for (const keys of EXACTLY_ONE_OF) {
    if (keys.every((key) => key in properties)) {
      node.oneOf = keys.map((key) => ({ required: [key] }));
    }
  }
}

export function configJsonSchema(): JsonSchemaNode {
  const generated = z.toJSONSchema(configSchema, {
    // draft-07 is the draft every YAML/JSON editor integration understands.
    target: 'draft-07',
    io: 'input',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => addExactlyOneOf(jsonSchema as JsonSchemaNode),
  }) as JsonSchemaNode;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: 'urn:slipway:config',
    title: 'Slipway configuration',
    description:
      'config/<stage>.yml of Slipway: the apps it deploys to ECS and the databases and volumes it backs up. ' +
      'Holds no secret values, only the names or ARNs of Secrets Manager secrets. ' +
      'Generated from lib/config/schema.ts by `npm run schema`; see config/example.yml for every key.',
    ...rest,
  };
}

/** The text of config/schema.json: 2-space JSON with a trailing newline, the same on every run. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
