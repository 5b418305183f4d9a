/**
 * `npm run schema`: writes config/schema.json, the JSON Schema of config/<stage>.yml,
 * from lib/config/schema.ts. A unit test fails when the committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_JSON_SCHEMA_PATH, renderConfigJsonSchema } from '../lib/config/json-schema';

const target = fileURLToPath(new URL(`../${CONFIG_JSON_SCHEMA_PATH}`, import.meta.url));

function currentText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const text = renderConfigJsonSchema();
if (currentText(target) === text) {
  process.stdout.write(`${CONFIG_JSON_SCHEMA_PATH} is up to date\n`);
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${CONFIG_JSON_SCHEMA_PATH}\n`);
}
