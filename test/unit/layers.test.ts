import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The layers, and which may import which (docs/architecture.md, "Layers"): checked over every import of
 * functions/, lib/ and the CLI package (packages/cli/src), value and type imports alike, so a lower layer that reaches a higher one fails here
 * with the import that does it. Cycles within a layer are Biome's to refuse (noImportCycles).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const LAYERS = [
  // Lambda handlers: makeHandler(deps) and handler = makeHandler(defaultDeps).
  'functions',
  // What each function's default dependencies are built from: env, config, traced clients, use cases.
  'wiring',
  // The HTTP edge: the route registry, the route chain, the OpenAPI document.
  'http',
  // The EventBridge edge: the event handler chain, the dead-letter queue, the rules' patterns.
  'events',
  // Capabilities: use cases and the pure decisions beside them; each other in one direction only.
  'capability',
  // Shared vocabulary: principals, names, and each capability's records, as plain data.
  'records',
  // The state table's repositories.
  'store',
  // What AWS and the network are: SDK client factories and settings, secrets, schedules, guarded fetch.
  'platform',
  // Errors, logs, metrics and traces.
  'foundation',
  // Programs beside the control plane: npm start and its sandbox, the benchmarks.
  'tools',
  // The slipway command's own package: it talks HTTP, so it needs nothing of the control plane but one leaf.
  'cli',
] as const;

/** What the CLI package takes from the control plane's modules: a leaf of node:net, bundled into it. */
const CLI_SHARED = ['lib/net/addresses.ts'];
type Layer = (typeof LAYERS)[number];

const CAPABILITIES = [
  'audit',
  'auth',
  'backup',
  'config',
  'deploy',
  'health',
  'notify',
  'release',
  'restore',
  'worker',
];

/** The layer of a repo-relative module path; undefined for one no rule places. */
function layerOf(path: string): Layer | undefined {
  if (path.startsWith('functions/')) return 'functions';
  if (path.startsWith('packages/cli/src/')) return 'cli';
  const [top, folder, file] = path.split('/');
  if (top !== 'lib' || !folder) return undefined;
  if (file === 'records.ts' || path === 'lib/auth/principal.ts' || path === 'lib/config/names.ts') return 'records';
  if (folder === 'wiring') return 'wiring';
  if (folder === 'http') return 'http';
  if (folder === 'events') return 'events';
  if (CAPABILITIES.includes(folder)) return 'capability';
  if (folder === 'store') return 'store';
  if (folder === 'aws' || folder === 'net') return 'platform';
  if (folder === 'errors' || folder === 'observability') return 'foundation';
  if (folder === 'local' || folder === 'sandbox' || folder === 'bench') return 'tools';
  return undefined;
}

/** Who may import whom, besides modules of its own layer. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  functions: ['wiring', 'http', 'events', 'capability', 'records', 'store', 'foundation'],
  wiring: ['events', 'capability', 'records', 'store', 'platform', 'foundation'],
  http: ['capability', 'records', 'store', 'foundation'],
  events: ['capability', 'records', 'foundation'],
  capability: ['records', 'store', 'platform', 'foundation'],
  records: ['foundation'],
  store: ['records', 'foundation'],
  platform: ['foundation'],
  foundation: [],
  tools: ['capability', 'records', 'store', 'platform', 'foundation'],
  cli: [],
};

interface Edge {
  from: string;
  to: string;
}

/** What is wrong with each import: an unplaced module, or a direction the table does not allow. */
function layerViolations(edges: readonly Edge[]): string[] {
  return edges.flatMap(({ from, to }) => {
    const [source, target] = [layerOf(from), layerOf(to)];
    if (!source) return [`${from} is in no layer`];
    if (!target) return [`${from} imports ${to}, which is in no layer`];
    if (source === target || MAY_IMPORT[source].includes(target)) return [];
    if (source === 'cli' && CLI_SHARED.includes(to)) return [];
    return [`${from} (${source}) imports ${to} (${target})`];
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The specifiers of a module's imports: static, type-only, re-exports, import(). */
function specifiersOf(path: string): string[] {
  return ts
    .preProcessFile(readFileSync(join(ROOT, path), 'utf8'), true, true)
    .importedFiles.map(({ fileName }) => fileName);
}

/** Every import between the project's own modules under functions/, lib/ and packages/cli/src. */
function importGraph(): Edge[] {
  const files = [...sourceFiles('functions'), ...sourceFiles('lib'), ...sourceFiles('packages/cli/src')];
  const known = new Set(files);
  return files.flatMap((from) => {
    return specifiersOf(from)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => {
        const base = relative(ROOT, resolve(ROOT, dirname(from), specifier));
        const to = [`${base}.ts`, `${base}/index.ts`, base].find((candidate) => known.has(candidate));
        if (!to) throw new Error(`${from}: cannot resolve ${specifier}`);
        return { from, to };
      });
  });
}

describe('the layers', () => {
  const graph = importGraph();

  it('reads the import graph (type imports included)', () => {
    // Given the graph, then it holds what the layers rest on: a handler's wiring, a type-only import
    expect(graph).toContainEqual({ from: 'functions/http/get-deployment.ts', to: 'lib/wiring/deployment-reads.ts' });
    expect(graph).toContainEqual({ from: 'lib/store/audit.ts', to: 'lib/audit/records.ts' });
  });

  it('places every module of functions/ and lib/ in a layer, and every import runs the allowed way', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it.each([
    ['a capability importing its wiring', 'lib/deploy/deployments.ts', 'lib/wiring/deployments.ts'],
    ['a capability importing the HTTP edge', 'lib/release/releases.ts', 'lib/http/route-chain.ts'],
    ['a store importing a use case', 'lib/store/audit.ts', 'lib/audit/trail.ts'],
    ['records importing a capability', 'lib/deploy/records.ts', 'lib/config/schema.ts'],
    ['wiring importing the HTTP edge', 'lib/wiring/deployments.ts', 'lib/http/deployment-requests.ts'],
    ['a handler making its own SDK clients', 'functions/http/get-backup.ts', 'lib/aws/clients/dynamodb.ts'],
    ['the control plane importing a tool', 'lib/backup/alarms.ts', 'lib/local/servers.ts'],
    ['a function importing the sandbox', 'functions/http/get-health.ts', 'lib/sandbox/index.ts'],
    ['the HTTP edge importing the sandbox', 'lib/http/route-chain.ts', 'lib/sandbox/server.ts'],
    ['the CLI package importing a record', 'packages/cli/src/format.ts', 'lib/deploy/records.ts'],
    ['the CLI package importing the platform', 'packages/cli/src/http.ts', 'lib/aws/client-config.ts'],
    ['the control plane importing the CLI package', 'lib/net/guarded-fetch.ts', 'packages/cli/src/profile.ts'],
  ])('refuses %s', (_what, from, to) => {
    expect(layerViolations([{ from, to }])).toEqual([expect.stringContaining(`${from} (`)]);
  });

  it('refuses a module in a folder no layer names', () => {
    expect(layerViolations([{ from: 'lib/misc/helpers.ts', to: 'lib/errors/index.ts' }])).toEqual([
      'lib/misc/helpers.ts is in no layer',
    ]);
  });
});

describe('the CLI package', () => {
  it('takes from outside itself only Node built-ins, cli-table3, and the shared leaf, which needs only Node', () => {
    // Given every import of the package's sources and of the module it shares with the control plane
    const outside = (paths: string[]) =>
      [...new Set(paths.flatMap(specifiersOf).filter((specifier) => !specifier.startsWith('.')))].sort();

    // Then the bundle can hold nothing of the control plane's dependencies
    expect(outside(sourceFiles('packages/cli/src')).filter((specifier) => !specifier.startsWith('node:'))).toEqual([
      'cli-table3',
    ]);
    expect(outside(CLI_SHARED)).toEqual(['node:net']);
    expect(CLI_SHARED.flatMap(specifiersOf).filter((specifier) => specifier.startsWith('.'))).toEqual([]);
  });
});

describe('the modules', () => {
  // A module past this length holds more than one concern: split it along its seams (docs/architecture.md).
  const MAX_LINES = 600;

  it(`keeps every module under lib/ to ${MAX_LINES} lines`, () => {
    const long = sourceFiles('lib')
      .map((path) => ({ path, lines: readFileSync(join(ROOT, path), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
