import { readFileSync } from 'node:fs';
import { CONFIG_JSON_SCHEMA_PATH } from '../../../lib/config/json-schema';
import {
  CONFIG_EXAMPLE_PATH,
  CONFIG_REFERENCE_PATH,
  cellText,
  code,
  diskFiles,
  exampleComments,
  expectedReference,
  type Files,
  keyRows,
  REGENERATE_COMMAND,
  renderConfigReference,
  run,
  type SchemaNode,
} from '../../../scripts/config-reference';

const committedSchema = () => JSON.parse(readFileSync(CONFIG_JSON_SCHEMA_PATH, 'utf8')) as SchemaNode;

/** Every property name the schema declares, at any depth (as test/unit/config/json-schema.test.ts counts them). */
function propertyNames(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) propertyNames(item, into);
  } else if (node && typeof node === 'object') {
    const { properties, ...rest } = node as Record<string, unknown>;
    if (properties && typeof properties === 'object') {
      for (const [key, value] of Object.entries(properties)) {
        into.add(key);
        propertyNames(value, into);
      }
    }
    for (const value of Object.values(rest)) propertyNames(value, into);
  }
  return into;
}

/** Files in memory, for running the command without touching the repository. */
function memoryFiles(initial: Record<string, string>): Files & { written: Record<string, string> } {
  const contents = { ...initial };
  const written: Record<string, string> = {};
  return {
    written,
    read: (path) => contents[path],
    write: (path, text) => {
      contents[path] = text;
      written[path] = text;
    },
  };
}

const SMALL_SCHEMA: SchemaNode = {
  type: 'object',
  required: ['auth'],
  properties: {
    auth: {
      type: 'object',
      required: ['tokensSecret'],
      properties: {
        tokensSecret: { type: 'string', pattern: '^(a|b)$', description: 'The secret' },
        tokenCacheSeconds: { type: 'integer', minimum: 0, maximum: 3600, default: 60 },
      },
    },
    apps: {
      type: 'object',
      default: {},
      propertyNames: { type: 'string', pattern: '^[a-z]+$' },
      additionalProperties: {
        type: 'object',
        required: ['containers'],
        properties: {
          containers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          runner: { type: 'string', enum: ['lambda', 'ecs'], default: 'lambda' },
          health: {
            type: 'array',
            default: [],
            items: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
          },
        },
      },
    },
  },
};

const SMALL_EXAMPLE = `# File header.

# Who may call. Required.
auth:
  # Where the hashes are. Required.
  tokensSecret: a
  # Seconds. Default: 60.
  tokenCacheSeconds: 60
apps:
  shop:
    containers: [backend]
    health:
      # The URL probed.
      - url: https://example.com
`;

describe('docs/configuration.md', () => {
  it('given config/schema.json and config/example.yml, when docs/configuration.md is read, then it is up to date', () => {
    // given
    const expected = expectedReference(diskFiles('.'));

    // when
    const committed = readFileSync(CONFIG_REFERENCE_PATH, 'utf8');

    // then
    if (committed !== expected) {
      throw new Error(
        `${CONFIG_REFERENCE_PATH} is stale: ${CONFIG_JSON_SCHEMA_PATH} or ${CONFIG_EXAMPLE_PATH} changed since it was generated. Run \`${REGENERATE_COMMAND}\` and commit the result.`,
      );
    }
  });

  it('given the schema, when the reference is read, then every top-level key has its own section', () => {
    // given
    const schema = committedSchema();

    // when
    const reference = readFileSync(CONFIG_REFERENCE_PATH, 'utf8');

    // then
    const topLevel = Object.keys(schema.properties ?? {});
    expect(topLevel.length).toBeGreaterThan(0);
    expect(topLevel.filter((key) => !reference.includes(`\n## \`${key}\`\n`))).toEqual([]);
  });

  it('given the schema, when the reference is read, then every key at any depth has a row', () => {
    // given
    const schema = committedSchema();
    const rows = keyRows(schema);

    // when
    const reference = readFileSync(CONFIG_REFERENCE_PATH, 'utf8');

    // then
    const named = new Set(rows.map((row) => row.path.split('.').at(-1)?.replace(/\[\]$/, '')));
    expect([...propertyNames(schema)].filter((key) => !named.has(key))).toEqual([]);
    expect(rows.filter((row) => !reference.includes(`| ${code(row.path)} |`)).map((row) => row.path)).toEqual([]);
  });

  it('given two renders of the same inputs, then they are identical and end with one newline', () => {
    // given
    const schema = committedSchema();
    const example = readFileSync(CONFIG_EXAMPLE_PATH, 'utf8');

    // when
    const first = renderConfigReference(schema, example);
    const second = renderConfigReference(schema, example);

    // then
    expect(second).toBe(first);
    expect(first.endsWith('|\n')).toBe(true);
    expect(first.startsWith('<!-- Generated from config/schema.json')).toBe(true);
  });
});

describe('keyRows', () => {
  it('given a schema and the comments of an example, then each key has its path, type, required, default, allowed values and description', () => {
    // given
    const comments = exampleComments(SMALL_EXAMPLE, SMALL_SCHEMA);

    // when
    const rows = keyRows(SMALL_SCHEMA, comments);

    // then
    expect(rows).toEqual([
      { path: 'auth', type: 'object', required: true, allowed: [], description: 'Who may call.' },
      {
        path: 'auth.tokensSecret',
        type: 'string',
        required: true,
        allowed: ['matches `^(a\\|b)$`'],
        description: 'Where the hashes are.',
      },
      {
        path: 'auth.tokenCacheSeconds',
        type: 'integer',
        required: false,
        default: 60,
        allowed: ['0 to 3600'],
        description: 'Seconds.',
      },
      {
        path: 'apps',
        type: 'map of objects',
        required: false,
        default: {},
        allowed: ['names match `^[a-z]+$`'],
        description: '',
      },
      { path: 'apps.<app>', type: 'object', required: undefined, allowed: [], description: '' },
      {
        path: 'apps.<app>.containers',
        type: 'list of strings',
        required: true,
        allowed: ['at least 1 item', 'each not empty'],
        description: '',
      },
      {
        path: 'apps.<app>.runner',
        type: 'string',
        required: false,
        default: 'lambda',
        allowed: ['one of `lambda`, `ecs`'],
        description: '',
      },
      {
        path: 'apps.<app>.health',
        type: 'list of objects',
        required: false,
        default: [],
        allowed: [],
        description: '',
      },
      { path: 'apps.<app>.health[].url', type: 'string', required: true, allowed: [], description: 'The URL probed.' },
    ]);
  });

  it('given a key with a schema description and no comment, then the schema describes it', () => {
    // when
    const rows = keyRows(SMALL_SCHEMA);

    // then
    expect(rows.find((row) => row.path === 'auth.tokensSecret')?.description).toBe('The secret');
  });

  it('given a key that appears under several maps, then the first comment found describes it', () => {
    // given
    const example =
      'apps:\n  shop:\n    containers: [backend]\n  cart:\n    # Second.\n    containers: [api]\n  mail:\n    # Third.\n    containers: [smtp]\n';

    // when
    const comments = exampleComments(example, SMALL_SCHEMA);

    // then
    expect(comments.get('apps.<app>.containers')).toBe('Second.');
  });
});

describe('table cells', () => {
  it('given prose with pipes, angle brackets and asterisks, then Markdown and HTML leave it as written', () => {
    expect(cellText('slipway-<stage>-<app> runs cron(0 3 * * ? *) | `a|b` and `<kept>`')).toBe(
      'slipway-&lt;stage&gt;-&lt;app&gt; runs cron(0 3 \\* \\* ? \\*) \\| `a\\|b` and `<kept>`',
    );
  });

  it('given code with a backtick, then the span is fenced by two', () => {
    expect(code('^[a-z`|~]+$')).toBe('`` ^[a-z`\\|~]+$ ``');
    expect(code('plain')).toBe('`plain`');
  });
});

describe('the command', () => {
  const inputs = () => ({
    [CONFIG_JSON_SCHEMA_PATH]: JSON.stringify(SMALL_SCHEMA),
    [CONFIG_EXAMPLE_PATH]: SMALL_EXAMPLE,
  });

  it('given no reference yet, when run, then it writes the reference and says so', () => {
    // given
    const files = memoryFiles(inputs());
    const said: string[] = [];

    // when
    const code = run([], files, (line) => said.push(line));

    // then
    expect(code).toBe(0);
    expect(files.written[CONFIG_REFERENCE_PATH]).toBe(renderConfigReference(SMALL_SCHEMA, SMALL_EXAMPLE));
    expect(said).toEqual([`wrote ${CONFIG_REFERENCE_PATH}`]);
  });

  it('given a stale reference, when run with --check, then it exits 1, names the command and writes nothing', () => {
    // given
    const files = memoryFiles({ ...inputs(), [CONFIG_REFERENCE_PATH]: '# old\n' });
    const said: string[] = [];

    // when
    const code = run(['--check'], files, (line) => said.push(line));

    // then
    expect(code).toBe(1);
    expect(files.written).toEqual({});
    expect(said[0]).toContain(`${CONFIG_REFERENCE_PATH} is stale`);
    expect(said[0]).toContain(REGENERATE_COMMAND);
  });

  it('given an up-to-date reference, when run with --check, then it exits 0', () => {
    // given
    const files = memoryFiles({
      ...inputs(),
      [CONFIG_REFERENCE_PATH]: renderConfigReference(SMALL_SCHEMA, SMALL_EXAMPLE),
    });

    // when
    const code = run(['--check'], files, () => undefined);

    // then
    expect(code).toBe(0);
    expect(files.written).toEqual({});
  });

  it('given an unknown argument, when run, then it exits 2 with the usage', () => {
    // given
    const said: string[] = [];

    // when
    const code = run(['--chek'], memoryFiles(inputs()), (line) => said.push(line));

    // then
    expect(code).toBe(2);
    expect(said[0]).toContain('unknown argument --chek');
  });
});
