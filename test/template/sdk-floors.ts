/**
 * Each function's floor: a handler that imports exactly the AWS SDK clients and commands its
 * function's calls send, creates the clients and returns. Bundled as the function is, it is the
 * smallest bundle and the quickest cold start any implementation of that function can have with the
 * SDK, so `npm run bench` reads each function's bundle and cold start against it.
 *
 * The calls come from the call graph (call-graph.ts) of the function's handler, less those the IAM
 * proof also knows no run of the function makes: the tokens secret on a public route, and the calls
 * INFEASIBLE_CALLS lists for its handler. The client classes come from the factory every client is
 * made by (lib/aws/clients/), so neither list is written by hand.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { apiRoutes } from '../../lib/http/registry';
import { buildBundles } from '../../lib/local/bundles';
import { readEsbuildSettings } from '../../lib/local/esbuild-options';
import { createCallGraph, type SdkOperation, type Sink } from './call-graph';
import { INFEASIBLE_CALLS } from './iam-allowlist';
import { isTokenReadOfPublicRoute, readsNoTokens, SECRET_READERS } from './iam-requests';

const CLIENT_FACTORY = 'lib/aws/clients';
const DOCUMENT_CLIENT_MODULE = '@aws-sdk/lib-dynamodb';
const LOW_LEVEL_DYNAMODB = '@aws-sdk/client-dynamodb';

const fileOf = (sink: Sink) => sink.site.replace(/:\d+$/, '');

/** A call the call graph reaches from the handler that INFEASIBLE_CALLS says no run of it makes. */
function isInfeasible(sink: Sink, handler: string): boolean {
  const listed = INFEASIBLE_CALLS[handler] ?? {};
  const kind = SECRET_READERS[fileOf(sink)];
  return sink.action in listed || (kind !== undefined && `${sink.action} (${kind})` in listed);
}

export const routeReadsNoTokens = (name: string) =>
  readsNoTokens(name, (apiRoutes as Record<string, { access: string } | undefined>)[name]?.access);

/** The SDK operations a function's calls send, each once, in a stable order. */
export function operationsMade(handler: string, sinks: Sink[], publicRoute: boolean): SdkOperation[] {
  const made = new Map<string, SdkOperation>();
  for (const sink of sinks) {
    if (isTokenReadOfPublicRoute(sink, publicRoute) || isInfeasible(sink, handler)) continue;
    made.set(`${sink.sends.module} ${sink.sends.operation}`, sink.sends);
  }
  return [...made.values()].sort((a, b) =>
    a.module === b.module ? a.operation.localeCompare(b.operation) : a.module.localeCompare(b.module),
  );
}

/** The client class each SDK module's clients are made with, from the factories' own imports. */
export function factoryClients(root: string): Map<string, string> {
  const statements = readdirSync(join(root, CLIENT_FACTORY))
    .filter((file) => file.endsWith('.ts'))
    .flatMap(
      (file) =>
        ts.createSourceFile(file, readFileSync(join(root, CLIENT_FACTORY, file), 'utf8'), ts.ScriptTarget.Latest)
          .statements,
    );
  const clients = new Map<string, string>();
  for (const statement of statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const module = (statement.moduleSpecifier as ts.StringLiteral).text;
    const bindings = statement.importClause?.namedBindings;
    if (!module.startsWith('@aws-sdk/') || !bindings || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) {
      if (!element.isTypeOnly && element.name.text.endsWith('Client')) clients.set(module, element.name.text);
    }
  }
  return clients;
}

/** The floor handler's source: the clients and commands of these operations, created, and nothing else. */
export function floorSource(operations: SdkOperation[], clients: Map<string, string>): string {
  const imports = new Map<string, Set<string>>();
  const add = (module: string, name: string) => imports.set(module, (imports.get(module) ?? new Set()).add(name));
  const clientOf = (module: string) => {
    const client = clients.get(module);
    if (!client) throw new Error(`${CLIENT_FACTORY} makes no client from ${module}, which a function calls`);
    return client;
  };
  const created: string[] = [];
  const commands: string[] = [];
  for (const module of [...new Set(operations.map((operation) => operation.module))]) {
    const client = clientOf(module);
    add(module, client);
    if (module === DOCUMENT_CLIENT_MODULE) {
      // The document client wraps a DynamoDB client (AWS SDK for JavaScript v3, @aws-sdk/lib-dynamodb).
      const lowLevel = clientOf(LOW_LEVEL_DYNAMODB);
      add(LOW_LEVEL_DYNAMODB, lowLevel);
      created.push(`${client}.from(new ${lowLevel}({}))`);
    } else {
      created.push(`new ${client}({})`);
    }
  }
  for (const { module, operation } of operations) {
    add(module, `${operation}Command`);
    commands.push(`${operation}Command`);
  }
  const lines = [...imports].map(([module, names]) => `import { ${[...names].join(', ')} } from '${module}';`);
  return [
    ...lines,
    `const clients = [${created.join(', ')}];`,
    `const commands = [${commands.join(', ')}];`,
    'export const handler = async () => ({ statusCode: 200, body: String(clients.length + commands.length) });',
    '',
  ].join('\n');
}

export interface FunctionFloor {
  name: string;
  handler: string;
  operations: SdkOperation[];
  source: string;
}

/** Each function's floor, from one call graph over all their handlers. */
export function functionFloors(
  root: string,
  functions: Array<{ name: string; handler: string }>,
): Map<string, FunctionFloor> {
  const handlers = [...new Set(functions.map((fn) => fn.handler))];
  const graph = createCallGraph(
    handlers.map((handler) => join(root, handler)),
    root,
  );
  const sinks = new Map(handlers.map((handler) => [handler, graph.analyse(join(root, handler)).sinks]));
  const clients = factoryClients(root);
  const floors = new Map<string, FunctionFloor>();
  for (const fn of functions) {
    const operations = operationsMade(fn.handler, sinks.get(fn.handler) ?? [], routeReadsNoTokens(fn.name));
    floors.set(fn.name, { ...fn, operations, source: floorSource(operations, clients) });
  }
  return floors;
}

/**
 * Bundles the floors as the functions are bundled (serverless.yml's custom.esbuild), each distinct
 * floor once, into `dir`; resolves with each function's floor bundle (`<dir>/out/<key>.js`) and its
 * JavaScript's size.
 */
export async function buildFloors(
  root: string,
  floors: Map<string, FunctionFloor>,
  dir: string,
  options: { write?: boolean } = {},
): Promise<Map<string, { bundle: string; bytes: number }>> {
  const keys = new Map<string, string>();
  const entries: Record<string, string> = {};
  for (const floor of floors.values()) {
    if (keys.has(floor.source)) continue;
    const key = `floor-${keys.size + 1}`;
    keys.set(floor.source, key);
    writeFileSync(join(dir, `${key}.ts`), floor.source);
    entries[key] = join(dir, `${key}.ts`);
  }
  const outdir = join(dir, 'out');
  const sizes = await buildBundles({
    entries,
    outdir,
    settings: readEsbuildSettings(root),
    absWorkingDir: root,
    // The floors are written outside the project; their SDK packages are the project's.
    nodePaths: [join(root, 'node_modules')],
    write: options.write ?? false,
  });
  const built = new Map<string, { bundle: string; bytes: number }>();
  for (const [name, floor] of floors) {
    const key = keys.get(floor.source) as string;
    built.set(name, { bundle: join(outdir, `${key}.js`), bytes: sizes[key] as number });
  }
  return built;
}

const KiB = 1024;

/** The functions that make no AWS call: their budget is a fixed size, not their floor's. */
export const NO_AWS_CALL_FUNCTIONS = ['getLiveness', 'getHealth', 'notFound', 'getOpenapi'] as const;
const NO_AWS_CALL_BUDGET = 100 * KiB;
/** What a function may carry beyond its floor: its own code, its validation, logging and routing. */
const OVER_FLOOR = 150 * KiB;

/** The most JavaScript a function's package may hold, in bytes, given its floor bundle's size. */
export function bundleBudget(name: string, floorBytes: number): number {
  return (NO_AWS_CALL_FUNCTIONS as readonly string[]).includes(name) ? NO_AWS_CALL_BUDGET : floorBytes + OVER_FLOOR;
}

export interface ExplainedGap {
  /** The most the function may carry beyond its budget, in KiB: a ceiling that only ever comes down. */
  kib: number;
  /** What it carries beyond its floor that its own work needs, and why that is not cut. */
  why: string;
}

/**
 * The functions that do not meet their budget, each with what it is allowed over it and why. The budget
 * test holds each to budget + gap and fails an entry the function no longer needs, or one more than
 * GAP_SLACK_KIB looser than the function is, so the list only shrinks; the bench prints the reasons.
 */
// The routes that ask for a deployment sat at their budget before they could act in other accounts.
const ACTS_IN_ACCOUNTS =
  "it asks for deployments, which act in an environment's account as a session on its role: the sessions, their external ids and the placement of environments (lib/aws/account-credentials.ts, lib/deploy/placement.ts, 4 KiB) come on top of the STS client the floor already counts, and every deploy route needs them, since any environment may be in another account.";

export const EXPLAINED_GAPS: Readonly<Record<string, ExplainedGap>> = {
  createDeployment: { kib: 6, why: ACTS_IN_ACCOUNTS },
  rollbackEnvironment: { kib: 4, why: ACTS_IN_ACCOUNTS },
  promoteEnvironment: { kib: 4, why: ACTS_IN_ACCOUNTS },
  restartEnvironment: { kib: 4, why: ACTS_IN_ACCOUNTS },
  scaleEnvironment: { kib: 7, why: ACTS_IN_ACCOUNTS },
  slackInteractions: {
    kib: 3,
    why: "it approves and cancels as the deployment routes do, and answers Slack itself: a press by a user missing from notifications.slack.approvers is mapped by the e-mail Slack's users.info confirms, and a refusal is posted in the message's thread, through the Slack Web API client (lib/notify/slack-web-api.ts, 2 KiB), which every press may need.",
  },
  ecrImageScan: {
    kib: 7,
    why: `${ACTS_IN_ACCOUNTS} The deployment it asks for may wait for approval, and its Slack message then carries the Approve and Reject buttons (lib/notify/slack.ts, under 1 KiB).`,
  },
  registryWebhook: {
    kib: 21,
    why: 'it runs a whole release from one request: the signature checks of three webhook schemes, the registry client that resolves a tag to its digest before anything is trusted, the release policy with its version order, the scan gate, and the deployment request it starts, in the environment’s account (lib/release 30 KiB, lib/deploy 16 KiB, the account sessions 4 KiB); each is needed on every delivery, and the route chain, zod/mini and the Powertools logger and metrics are what every route carries.',
  },
  volumeWorker: {
    kib: 34,
    why: "a volume function streams its volume to S3 and back itself: tar-stream with its stream library (41 KiB) and lib-storage's multipart Upload (11 KiB) around the archiver, its manifest, the restore's checks of every path and of the SQLite databases a manifest marks (lib/worker/volume, 30 KiB: a restore of such an archive on a runner without sqlite3 must say so, not skip the check); the PostgreSQL half of the worker is left to the worker task.",
  },
  reconcileBackups: {
    kib: 5,
    why: "the snapshot reconciler acts wherever the databases and the backup vault are: each database's account and the vault's as sessions on their roles (lib/aws/account-credentials.ts, beyond the STS client the floor counts), the vault's copies shared and their keys granted from the database's account, settled and kept to retention in the vault, and the shares of vault restores removed once they end (lib/backup/vault-copies.ts, vault.ts and lib/restore/vault-restore-shares.ts, 7 KiB); every run may meet any of them. Its Slack messages share lib/notify/slack.ts with the approval buttons (under 1 KiB).",
  },
  createRestore: {
    kib: 54,
    why: "one route plans restores of four kinds of source (instance and cluster snapshots, dumps and volume archives), each checked against what it would overwrite before anything starts (lib/restore 15 KiB, lib/backup 11 KiB), in the database's account, or the backup vault's or another account's for a vault copy, as a session on its role (lib/aws/account-credentials.ts, the database's place and lib/restore/vault-restore.ts, 5 KiB, beyond the STS client the floor counts), grants the vault key's use to the account a vault copy is restored into before RDS restores it there (the KMS client, 34 KiB: the grant must exist before the restore call), and verifies OIDC callers with jose (21 KiB) like every authenticated route, their issuer's discovery document read by the module the console's sign-in shares (lib/auth/oidc-discovery.ts, 2 KiB).",
  },
};

/** The handler of every volume function (one per configured volume, serverless/volume-workers.cjs). */
export const VOLUME_WORKER_HANDLER = 'functions/workers/volume-worker.ts';

/** The name a function's gap is kept under: the volume functions share one, `volumeWorker`, as they share a handler. */
export const gapKey = (fn: { name: string; handler: string }) =>
  fn.handler === VOLUME_WORKER_HANDLER ? 'volumeWorker' : fn.name;

/** How much looser than measured a gap's ceiling may be: room for a dependency's patch release. */
export const GAP_SLACK_KIB = 8;
