/**
 * `npx tsx scripts/config-reference.ts [--check]`: writes docs/configuration.md, the reference of every key
 * of config/<stage>.yml, from config/schema.json (types, defaults, ranges, patterns, required keys,
 * descriptions) and the comments above each key in config/example.yml. With `--check` it changes nothing
 * and exits 1 when the committed file is stale; a unit test does the same.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import { CONFIG_JSON_SCHEMA_PATH } from '../lib/config/json-schema';

export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';
export const CONFIG_EXAMPLE_PATH = 'config/example.yml';
export const REGENERATE_COMMAND = 'npx tsx scripts/config-reference.ts';

/** The part of JSON Schema (draft-07) that config/schema.json uses. */
export interface SchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: SchemaNode | boolean;
  propertyNames?: SchemaNode;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  $ref?: string;
  definitions?: Record<string, SchemaNode>;
  $defs?: Record<string, SchemaNode>;
}

/** One key of the file, as the reference lists it. */
export interface KeyRow {
  /** `apps.<app>.environments.<env>.health[].url`: maps show a placeholder, lists `[]`. */
  path: string;
  type: string;
  /** Undefined for a map entry, whose name is the user's. */
  required: boolean | undefined;
  default?: unknown;
  allowed: string[];
  description: string;
}

/** What a map's entries are called in key paths, by the key of the map. */
const PLACEHOLDERS: Record<string, string> = {
  apps: '<app>',
  environments: '<env>',
  databases: '<database>',
  volumes: '<volume>',
  headers: '<header>',
  maxFindings: '<severity>',
};
const placeholder = (mapKey: string) => PLACEHOLDERS[mapKey] ?? '<name>';

// zod writes "no bound" for an int as the largest (or smallest) safe integer.
const bounded = (value: number | undefined) =>
  value === undefined || Math.abs(value) === Number.MAX_SAFE_INTEGER ? undefined : value;

const childPath = (parent: string, segment: string) => (parent === '' ? segment : `${parent}.${segment}`);

function resolve(root: SchemaNode, node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const match = /^#\/(definitions|\$defs)\/(.+)$/.exec(node.$ref);
  const target = match ? root[match[1] as 'definitions' | '$defs']?.[match[2] as string] : undefined;
  if (!target) throw new Error(`${CONFIG_JSON_SCHEMA_PATH}: cannot resolve ${node.$ref}`);
  return resolve(root, target);
}

const isObject = (value: unknown): value is SchemaNode =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The schema a map's entries follow, when the node is a map. */
function mapEntries(node: SchemaNode): SchemaNode | undefined {
  return isObject(node.additionalProperties) ? node.additionalProperties : undefined;
}

const constsOf = (node: SchemaNode): unknown[] | undefined =>
  node.anyOf?.every((variant) => variant.const !== undefined) ? node.anyOf.map((variant) => variant.const) : undefined;

function typeOf(root: SchemaNode, raw: SchemaNode): string {
  const node = resolve(root, raw);
  const consts = constsOf(node);
  if (consts) {
    const kinds = [
      ...new Set(consts.map((value) => (Number.isInteger(value) ? 'integer' : value === null ? 'null' : typeof value))),
    ];
    return kinds.join(' or ');
  }
  if (node.anyOf) return [...new Set(node.anyOf.map((variant) => typeOf(root, variant)))].join(' or ');
  if (Array.isArray(node.type)) return node.type.join(' or ');
  if (node.type === 'array') return `list of ${plural(node.items ? typeOf(root, node.items) : 'any')}`;
  const entries = mapEntries(node);
  if (node.type === 'object' && entries && !node.properties) return `map of ${plural(typeOf(root, entries))}`;
  return node.type ?? 'any';
}

/** `string or object` → `strings or objects`. */
const plural = (type: string) =>
  type
    .split(' or ')
    .map((word) => `${word}s`)
    .join(' or ');

/** Keeps the last paragraph, as a comment block above a key may also hold the file's header. */
function commentText(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  const paragraphs = comment.split(/\n[ \t]*\n/);
  const text = (paragraphs.at(-1) ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
  return text === '' ? undefined : text;
}

function numberRange(node: SchemaNode): string | undefined {
  const min = bounded(node.minimum ?? node.exclusiveMinimum);
  const max = bounded(node.maximum ?? node.exclusiveMaximum);
  if (min !== undefined && max !== undefined) return `${min} to ${max}`;
  if (min !== undefined) return `${node.exclusiveMinimum !== undefined ? '>' : '≥'} ${min}`;
  if (max !== undefined) return `${node.exclusiveMaximum !== undefined ? '<' : '≤'} ${max}`;
  return undefined;
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function allowedOf(root: SchemaNode, raw: SchemaNode): string[] {
  const node = resolve(root, raw);
  const allowed: string[] = [];
  const consts = constsOf(node);
  if (consts) allowed.push(`one of ${consts.map((value) => code(flow(value))).join(', ')}`);
  if (node.enum) allowed.push(`one of ${node.enum.map((value) => code(flow(value))).join(', ')}`);
  const range = numberRange(node);
  if (range) allowed.push(range);
  if (node.minLength === 1 && node.maxLength === undefined) allowed.push('not empty');
  else if (node.minLength !== undefined || node.maxLength !== undefined) {
    allowed.push(`${node.minLength ?? 0} to ${node.maxLength ?? '∞'} characters`);
  }
  if (node.minItems !== undefined) allowed.push(`at least ${count(node.minItems, 'item')}`);
  if (node.maxItems !== undefined) allowed.push(`at most ${count(node.maxItems, 'item')}`);
  if (node.pattern) allowed.push(`matches ${code(node.pattern)}`);
  if (node.propertyNames?.pattern) allowed.push(`names match ${code(node.propertyNames.pattern)}`);
  if (node.propertyNames?.enum) {
    allowed.push(`keys: ${node.propertyNames.enum.map((value) => code(flow(value))).join(', ')}`);
  }
  if (node.items) {
    const each = allowedOf(root, node.items).filter((rule) => !rule.startsWith('exactly one of'));
    if (each.length > 0 && !resolve(root, node.items).properties) allowed.push(`each ${each.join(', ')}`);
  }
  const exactlyOne = node.oneOf?.flatMap((variant) => (variant.required?.length === 1 ? variant.required : []));
  if (exactlyOne && exactlyOne.length === node.oneOf?.length) {
    allowed.push(`exactly one of ${exactlyOne.map((key) => code(key)).join(', ')}`);
  }
  return allowed;
}

/** A sentence of a comment that only repeats what the Required and Default columns say. */
function withoutRepeats(comment: string, fallback: unknown): string {
  const shownDefault = fallback === undefined ? undefined : flow(fallback);
  return comment
    .split(/(?<=\.)\s+(?=[A-Z])/)
    .filter(
      (sentence) =>
        sentence !== 'Required.' &&
        sentence !== 'Default: the values shown.' &&
        (shownDefault === undefined || sentence !== `Default: ${shownDefault}.`),
    )
    .join(' ');
}

/** A description from the comment in config/example.yml, else the schema's. */
function describe(schemaText: string | undefined, comment: string | undefined, fallback: unknown): string {
  const cleaned = comment === undefined ? undefined : withoutRepeats(comment, fallback);
  if (!cleaned) return schemaText ?? '';
  // "... in this many minutes ..." continues the comment of the key before it: the schema says it whole.
  if (cleaned.startsWith('...')) return schemaText ?? cleaned.replace(/^\.\.\.\s*|\s*\.\.\.$/g, '');
  // A comment that gives only the default says less than the schema's description.
  if (/^Default: /.test(cleaned) && schemaText) return `${schemaText}. ${cleaned}`;
  return cleaned;
}

/** Every key the schema declares, depth first in the schema's order; `comments` by key path. */
export function keyRows(schema: SchemaNode, comments: ReadonlyMap<string, string> = new Map()): KeyRow[] {
  const rows: KeyRow[] = [];
  const add = (raw: SchemaNode, path: string, required: boolean | undefined) => {
    const node = resolve(schema, raw);
    rows.push({
      path,
      type: typeOf(schema, node),
      required,
      ...(node.default !== undefined ? { default: node.default } : {}),
      allowed: allowedOf(schema, node),
      description: describe(node.description, comments.get(path), node.default),
    });
  };
  const visit = (raw: SchemaNode, path: string, key: string) => {
    const node = resolve(schema, raw);
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const at = childPath(path, name);
      add(child, at, node.required?.includes(name) ?? false);
      visit(child, at, name);
    }
    for (const variant of node.anyOf ?? []) {
      if (resolve(schema, variant).properties) visit(variant, path, key);
    }
    const entries = mapEntries(node);
    if (entries) {
      const at = `${path}.${placeholder(key)}`;
      const resolved = resolve(schema, entries);
      // A map of plain values (maxFindings) is described by its own row; a map of objects gets one per entry.
      if (resolved.properties || resolved.anyOf) add(entries, at, undefined);
      visit(entries, at, key);
    }
    if (node.items) visit(node.items, `${path}[]`, key);
  };
  visit(schema, '', '');
  // A key described once describes its namesakes too: `volumes.<volume>.retention.daily` as the databases' one.
  const lastTwo = (path: string) => path.split('.').slice(-2).join('.');
  for (const key of rows) {
    if (key.description !== '' || !key.path.includes('.')) continue;
    const namesake = rows.find((other) => other.description !== '' && lastTwo(other.path) === lastTwo(key.path));
    if (namesake) key.description = namesake.description;
  }
  return rows;
}

/** The schema of `key` inside `node` and the key's segment in a path (a placeholder for a map's entries). */
function childSchema(
  root: SchemaNode,
  raw: SchemaNode,
  key: string,
  mapKey: string,
): { node: SchemaNode; segment: string } | undefined {
  const node = resolve(root, raw);
  const property = node.properties?.[key];
  if (property) return { node: property, segment: key };
  for (const variant of node.anyOf ?? []) {
    const found = childSchema(root, variant, key, mapKey);
    if (found) return found;
  }
  const entries = mapEntries(node);
  return entries ? { node: entries, segment: placeholder(mapKey) } : undefined;
}

/**
 * The comment above each key of config/example.yml, by the key's path in the reference (the first one
 * found where an example repeats a key). The comment above a map's first key is the map's own in YAML.
 */
export function exampleComments(exampleText: string, schema: SchemaNode): Map<string, string> {
  const comments = new Map<string, string>();
  const document = parseDocument(exampleText);
  // `inherited`: the comment above a list whose first item is this map, which YAML gives the list.
  const visit = (value: unknown, node: SchemaNode, path: string, mapKey: string, inherited?: string | null) => {
    if (isSeq(value)) {
      const items = resolve(schema, node).items;
      if (!items) return;
      value.items.forEach((item, index) => {
        visit(item, items, `${path}[]`, mapKey, index === 0 ? value.commentBefore : undefined);
      });
      return;
    }
    if (!isMap(value)) return;
    value.items.forEach((pair, index) => {
      if (!isPair(pair) || !isScalar(pair.key)) return;
      const key = String(pair.key.value);
      const child = childSchema(schema, node, key, mapKey);
      if (!child) return;
      const at = childPath(path, child.segment);
      const above = pair.key.commentBefore ?? (index === 0 ? (value.commentBefore ?? inherited) : undefined);
      const comment = commentText(above);
      if (comment && !comments.has(at)) comments.set(at, comment);
      visit(pair.value, child.node, at, key);
    });
  };
  visit(document.contents, schema, '', '');
  return comments;
}

/** A value as YAML flow style would show it: `rate(1 minute)`, `[]`, `{daily: 7, weekly: 4}`. */
export function flow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (isObject(value)) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${key}: ${flow(item)}`)
      .join(', ')}}`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** An inline code span that survives a table cell: pipes escaped, a backtick inside fenced by two. */
export function code(text: string): string {
  const escaped = text.replace(/\|/g, '\\|');
  return escaped.includes('`') ? `\`\` ${escaped} \`\`` : `\`${escaped}\``;
}

/** Prose for a table cell: code spans kept, and outside them the characters Markdown or HTML would eat. */
export function cellText(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, index) =>
      index % 2 === 1
        ? part.replace(/\|/g, '\\|')
        : part
            .replace(/\\/g, '\\\\')
            .replace(/\|/g, '\\|')
            .replace(/\*/g, '\\*')
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;'),
    )
    .join('');
}

function row(key: KeyRow): string {
  const required = key.required === undefined ? '—' : key.required ? 'yes' : 'no';
  const fallback = key.default !== undefined ? code(flow(key.default)) : '—';
  const cells = [
    code(key.path),
    cellText(key.type),
    required,
    fallback,
    key.allowed.length > 0 ? key.allowed.join('; ') : '—',
    key.description === '' ? '—' : cellText(key.description),
  ];
  return `| ${cells.join(' | ')} |`;
}

const INTRO = `# Configuration reference

Every key of \`config/<stage>.yml\`, the one file that says what a Slipway stage manages: the apps it
deploys to ECS, the databases and volumes it backs up, and who may call its API. \`--stage prod\` reads
\`config/prod.yml\`; \`npm start\` reads \`config/local.yml\` unless given \`--stage\`.

- The file is checked against one schema (\`lib/config/schema.ts\`) when the stack is packaged or
  deployed, when \`npm start\` starts, and when each function that reads it starts. An invalid file stops there with
  the file, the key path and the reason, one line per problem:

  \`\`\`
  config/prod.yml: apps.shop.environments.production.approvals: expected an integer >= 0, received "one"
  config/prod.yml: apps.shop.environments.staging.relase: is not a known key
  \`\`\`

- It holds no secret values. Keys ending in \`Secret\` (and \`fromSecret\`) take the name or ARN of an
  AWS Secrets Manager secret, read at run time; a value that looks like a password, token, private key,
  AWS secret key, Slack webhook URL or URL with a password in it is refused with a pointer to Secrets
  Manager.
- [config/example.yml](../config/example.yml) shows every key with a comment;
  [config/schema.json](../config/schema.json) is the JSON Schema generated from the code
  (\`npm run schema\`). Editors with the YAML language server check a file against it through its first
  line: \`# yaml-language-server: $schema=./schema.json\`.

How to read the tables: a key path such as \`apps.<app>.environments.<env>.health[].url\` has a name of
yours where it shows \`<app>\`, \`<env>\`, \`<database>\`, \`<volume>\` or \`<header>\`, and \`[]\` where the key
is in each item of a list. *Required* says whether the key must be there when the key that holds it is;
a key with a default takes it when left out. Descriptions come from the comments of config/example.yml,
else from the schema.

## Rules checked beyond each key

The file is also refused when:

- a key is not one the schema knows (\`is not a known key\`), or a name (of an app, environment,
  database, volume or health check) is not lowercase letters, digits and dashes, starting with a letter,
  at most 63 characters;
- a \`release\` policy has none or more than one of \`tags\`, \`regexp\` and \`semver\`, its \`tags\` glob has
  unbalanced brackets, braces or parentheses, or its \`regexp\` does not compile;
- a database has none or both of \`rdsInstance\` and \`rdsCluster\`, or has \`exportToS3: true\` without
  both \`exportRoleArn\` and \`exportKmsKeyId\`;
- a \`promoteFrom\` does not name another environment of the same app;
- there is a volume or a database \`dump\` and no \`worker\` section (they run in your VPC, through the
  worker);
- \`worker.memory\` is not a size Fargate allows for \`worker.cpu\`: 512, 1024 or 2048 MiB for 256;
  1024 to 4096 for 512; 2048 to 8192 for 1024; 4096 to 16384 for 2048; 8192 to 30720 for 4096 (above
  the smallest, in steps of 1024);
- two subjects would share alarm names: a database \`<d>\`, its dumps (\`<d>-dump\`) and a volume
  (\`volume-<v>\`) each name alarms \`slipway-<stage>-<subject>-…\`;
- a schedule is not \`cron(…)\` with six fields or \`rate(N unit)\` (\`rate(1 minute)\`, \`rate(5 minutes)\`:
  singular for 1, plural otherwise). Schedules are EventBridge expressions, evaluated in UTC.
`;

/** The text of docs/configuration.md: the same for the same inputs, with a trailing newline. */
export function renderConfigReference(schema: SchemaNode, exampleText: string): string {
  const rows = keyRows(schema, exampleComments(exampleText, schema));
  const sections = Object.keys(schema.properties ?? {});
  const contents = sections.map((key) => `- [\`${key}\`](#${key.toLowerCase()})`).join('\n');
  const body = sections.map((key) => {
    const own = rows.find((candidate) => candidate.path === key);
    const keys = rows.filter((candidate) => candidate.path === key || candidate.path.startsWith(`${key}.`));
    return [
      `## \`${key}\``,
      '',
      ...(own?.description ? [cellText(own.description), ''] : []),
      '| Key | Type | Required | Default | Allowed | Description |',
      '| --- | --- | --- | --- | --- | --- |',
      ...keys.map(row),
    ].join('\n');
  });
  return [
    `<!-- Generated from ${CONFIG_JSON_SCHEMA_PATH} and ${CONFIG_EXAMPLE_PATH} by scripts/config-reference.ts. Do not edit: run \`${REGENERATE_COMMAND}\`. -->`,
    '',
    INTRO,
    '## Sections',
    '',
    contents,
    '',
    body.join('\n\n'),
    '',
  ].join('\n');
}

/** Reads and writes files relative to the repository; a port, so the command runs in tests without a disk. */
export interface Files {
  read(path: string): string | undefined;
  write(path: string, text: string): void;
}

export function diskFiles(root: string): Files {
  return {
    read(path) {
      try {
        return readFileSync(join(root, path), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    write(path, text) {
      writeFileSync(join(root, path), text);
    },
  };
}

/** The reference for the schema and example in `files`. */
export function expectedReference(files: Files): string {
  const schemaText = files.read(CONFIG_JSON_SCHEMA_PATH);
  const exampleText = files.read(CONFIG_EXAMPLE_PATH);
  if (schemaText === undefined) throw new Error(`${CONFIG_JSON_SCHEMA_PATH} is missing: run \`npm run schema\``);
  if (exampleText === undefined) throw new Error(`${CONFIG_EXAMPLE_PATH} is missing`);
  return renderConfigReference(JSON.parse(schemaText) as SchemaNode, exampleText);
}

/** Runs the command; resolves with its exit code (0 written or up to date, 1 stale under --check, 2 usage). */
export function run(argv: ReadonlyArray<string>, files: Files, say: (line: string) => void): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    say(`config-reference: unknown argument ${unknown[0]}; usage: ${REGENERATE_COMMAND} [--check]`);
    return 2;
  }
  const expected = expectedReference(files);
  if (files.read(CONFIG_REFERENCE_PATH) === expected) {
    say(`${CONFIG_REFERENCE_PATH} is up to date`);
    return 0;
  }
  if (check) {
    say(
      `${CONFIG_REFERENCE_PATH} is stale: ${CONFIG_JSON_SCHEMA_PATH} or ${CONFIG_EXAMPLE_PATH} changed since it was generated. Run \`${REGENERATE_COMMAND}\` and commit the result.`,
    );
    return 1;
  }
  files.write(CONFIG_REFERENCE_PATH, expected);
  say(`wrote ${CONFIG_REFERENCE_PATH}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.exitCode = run(process.argv.slice(2), diskFiles(root), (line) => process.stdout.write(`${line}\n`));
}
