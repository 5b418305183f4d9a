import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CONFIG_JSON_SCHEMA_PATH, configJsonSchema, renderConfigJsonSchema } from '../../../lib/config/json-schema';
import { COMMITTED_CONFIGS } from '../../support/configs';

/** Every property name the JSON Schema declares, at any depth. */
function schemaKeys(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) schemaKeys(item, into);
  } else if (node && typeof node === 'object') {
    const { properties, ...rest } = node as Record<string, unknown>;
    if (properties && typeof properties === 'object') {
      for (const [key, value] of Object.entries(properties)) {
        into.add(key);
        schemaKeys(value, into);
      }
    }
    for (const value of Object.values(rest)) schemaKeys(value, into);
  }
  return into;
}

/** Every mapping key a parsed YAML document uses, at any depth. */
function documentKeys(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) documentKeys(item, into);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      into.add(key);
      documentKeys(value, into);
    }
  }
  return into;
}

/**
 * Keys config refuses every value of for now (an environment's, database's or volume's account and region:
 * lib/config/sections/accounts.ts, placementIssues): a valid example can only show them commented out, but for
 * backups.vaultBucket's, which are accepted.
 */
const REFUSED_FOR_NOW = ['account', 'region'];

/** The keys of lines such as `    # account: staging`: a key shown commented out. */
function commentedOutKeys(text: string): Set<string> {
  return new Set([...text.matchAll(/^\s*# ([A-Za-z]+): \S/gm)].map((match) => match[1] as string));
}

describe('config/schema.json', () => {
  it('given the schema in lib/config/schema.ts, when config/schema.json is read, then it is up to date', () => {
    // given
    const expected = renderConfigJsonSchema();

    // when
    const committed = readFileSync(CONFIG_JSON_SCHEMA_PATH, 'utf8');

    // then
    if (committed !== expected) {
      throw new Error(
        `${CONFIG_JSON_SCHEMA_PATH} is stale: lib/config/schema.ts changed since it was generated. Run \`npm run schema\` and commit the result.`,
      );
    }
  });

  it('given two renders, when compared, then they are identical and end with a newline', () => {
    // when
    const first = renderConfigJsonSchema();
    const second = renderConfigJsonSchema();

    // then
    expect(second).toBe(first);
    expect(first.endsWith('}\n')).toBe(true);
    expect(first.split('\n')[1]).toMatch(/^ {2}"\$schema": /);
  });

  it('given the generated schema, then it names itself and describes what may be written', () => {
    // when
    const schema = configJsonSchema();

    // then
    expect(schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'urn:slipway:config',
      title: 'Slipway configuration',
      type: 'object',
      required: ['auth'],
      additionalProperties: false,
    });
    expect(typeof schema.description).toBe('string');
  });

  it('given config/example.yml, when its keys are listed, then it shows every key the schema knows', () => {
    // given
    const known = schemaKeys(configJsonSchema());

    // when
    const text = readFileSync('config/example.yml', 'utf8');
    const document = parse(text);
    const shown = documentKeys(document);
    const commented = commentedOutKeys(text);
    // backups.vaultBucket's account and region are accepted: its keys are the only ones shown.
    const { vaultBucket, ...backups } = document.backups;
    const shownOutsideVault = documentKeys({ ...document, backups });

    // then
    expect(Object.keys(vaultBucket)).toEqual(expect.arrayContaining(REFUSED_FOR_NOW));
    expect([...known].filter((key) => !shown.has(key) && !REFUSED_FOR_NOW.includes(key))).toEqual([]);
    // And a key refused for now is shown commented out, and only so
    expect(
      REFUSED_FOR_NOW.filter((key) => !known.has(key) || shownOutsideVault.has(key) || !commented.has(key)),
    ).toEqual([]);
  });

  it('given config files, when they are opened in an editor, then their first line points it at the schema', () => {
    for (const path of COMMITTED_CONFIGS) {
      expect(readFileSync(path, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./schema.json');
    }
  });
});
