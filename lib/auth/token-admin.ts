import { parseArgs } from 'node:util';
import { NAME_PATTERN } from '../config/names';
import { ConfigError } from '../errors';
import { OIDC_NAME_PREFIX, ROLES, type Role } from './principal';
import { type TokenDocument, type TokenEntry, tokenDocumentSchema, tokenEntrySchema } from './token-document';
import { hashToken } from './tokens';

/**
 * The pure parts of `npm run token`: reading its arguments, building the entry
 * to store, and putting that entry into a token document by name.
 */
export const TOKEN_USAGE = `usage: npm run token -- --name <name> --role <${ROLES.join('|')}> [--role <role>] [--app <app>]… [--environment <env>]… [--stage <stage>] [--json]`;

export const DEFAULT_STAGE = 'local';

const STAGE = /^[a-z][a-z0-9-]{0,62}$/;

/** Arguments the command cannot run with; the script prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface TokenCommand {
  name: string;
  roles: Role[];
  /** Present when the token is limited to these apps (`--app`, repeatable). */
  apps?: string[];
  /** Present when the token is limited to these environments (`--environment`, repeatable). */
  environments?: string[];
  stage: string;
  json: boolean;
}

/** `--app`/`--environment` values: names as config/<stage>.yml writes them, each once, in the order given. */
function scopeNames(option: string, values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  const names: string[] = [];
  for (const value of values) {
    if (!NAME_PATTERN.test(value)) {
      throw new UsageError(
        `--${option} ${JSON.stringify(value)}: expected lowercase letters, digits and dashes, starting with a letter`,
      );
    }
    if (!names.includes(value)) names.push(value);
  }
  return names;
}

function single(option: string, values: string[] | undefined): string | undefined {
  if (values && values.length > 1) throw new UsageError(`--${option} is given ${values.length} times; give it once`);
  return values?.[0];
}

export function parseTokenArgs(args: ReadonlyArray<string>): TokenCommand {
  let values: {
    name?: string[];
    role?: string[];
    app?: string[];
    environment?: string[];
    stage?: string[];
    json?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        name: { type: 'string', multiple: true },
        role: { type: 'string', multiple: true },
        app: { type: 'string', multiple: true },
        environment: { type: 'string', multiple: true },
        stage: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (error) {
    // parseArgs' messages are already one line and name the argument ("Unknown option '--rol'").
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }

  const name = single('name', values.name);
  if (name === undefined) throw new UsageError('--name is required');
  if (name.startsWith(OIDC_NAME_PREFIX)) {
    throw new UsageError(
      `--name ${JSON.stringify(name)}: names starting with ${OIDC_NAME_PREFIX} are kept for OIDC callers`,
    );
  }
  if (!tokenEntrySchema.shape.name.safeParse(name).success) {
    throw new UsageError(
      `--name ${JSON.stringify(name)}: expected up to 128 letters, digits and . _ @ : -, starting with a letter or digit`,
    );
  }

  const roles: Role[] = [];
  for (const role of values.role ?? []) {
    if (!(ROLES as ReadonlyArray<string>).includes(role)) {
      throw new UsageError(`--role ${JSON.stringify(role)}: expected one of ${ROLES.join(', ')}`);
    }
    if (!roles.includes(role as Role)) roles.push(role as Role);
  }
  if (roles.length === 0) throw new UsageError('at least one --role is required');

  const stage = single('stage', values.stage) ?? DEFAULT_STAGE;
  if (!STAGE.test(stage))
    throw new UsageError(`--stage ${JSON.stringify(stage)}: expected lowercase letters, digits and dashes`);

  const apps = scopeNames('app', values.app);
  const environments = scopeNames('environment', values.environment);
  return {
    name,
    roles,
    ...(apps ? { apps } : {}),
    ...(environments ? { environments } : {}),
    stage,
    json: values.json ?? false,
  };
}

/**
 * A scope naming what the stage's config does not have would never match anything: refused, naming
 * what is there. `apps` maps each configured app to its environment names.
 */
export function checkScopeAgainstConfig(
  command: Pick<TokenCommand, 'apps' | 'environments' | 'stage'>,
  apps: Readonly<Record<string, ReadonlyArray<string>>>,
): void {
  const configured = Object.keys(apps);
  for (const app of command.apps ?? []) {
    if (!configured.includes(app)) {
      throw new UsageError(
        `--app ${app}: config/${command.stage}.yml has no app ${app} (apps: ${configured.join(', ') || 'none'})`,
      );
    }
  }
  const within = command.apps ?? configured;
  const environments = [...new Set(within.flatMap((app) => apps[app] ?? []))];
  for (const environment of command.environments ?? []) {
    if (!environments.includes(environment)) {
      throw new UsageError(
        `--environment ${environment}: no app ${command.apps ? `of ${command.apps.join(', ')} ` : ''}in config/${command.stage}.yml has it (environments: ${environments.join(', ') || 'none'})`,
      );
    }
  }
}

/** What is stored for a token: never the token itself. A scope key is written only when it limits. */
export function tokenEntry(
  name: string,
  roles: ReadonlyArray<Role>,
  token: string,
  now: Date,
  scope: { apps?: ReadonlyArray<string> | undefined; environments?: ReadonlyArray<string> | undefined } = {},
): TokenEntry {
  return {
    name,
    sha256: hashToken(token),
    roles: [...roles],
    ...(scope.apps ? { apps: [...scope.apps] } : {}),
    ...(scope.environments ? { environments: [...scope.environments] } : {}),
    createdAt: now.toISOString(),
  };
}

/** `deployer on apps shop, environments staging`, for the script's first line. */
export function describeTokenGrant(entry: Pick<TokenEntry, 'roles' | 'apps' | 'environments'>): string {
  const limits = [
    ...(entry.apps ? [`apps ${entry.apps.join(', ')}`] : []),
    ...(entry.environments ? [`environments ${entry.environments.join(', ')}`] : []),
  ];
  return `${entry.roles.join(', ')}${limits.length > 0 ? ` on ${limits.join(' and ')} only` : ''}`;
}

/** A token document with other top-level keys kept, so rewriting it loses nothing. */
export type StoredTokenDocument = TokenDocument & Record<string, unknown>;

/**
 * Reads a tokens file's text; `undefined` (no file yet) is an empty document.
 * Errors name the paths that are wrong, never the values.
 */
export function parseTokenDocument(text: string | undefined, origin: string): StoredTokenDocument {
  if (text === undefined || text.trim() === '') return { tokens: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${origin} is not valid JSON; fix or remove it`);
  }
  const result = tokenDocumentSchema.safeParse(raw);
  if (!result.success) {
    const paths = result.error.issues.map((issue) => issue.path.join('.') || '(top level)').join(', ');
    throw new ConfigError(`${origin} is not a valid token document (${paths}); fix or remove it`);
  }
  return { ...(raw as Record<string, unknown>), tokens: result.data.tokens };
}

/** Puts `entry` in the document: in place of the entry with its name, else at the end. The input is not changed. */
export function upsertTokenEntry(
  document: StoredTokenDocument,
  entry: TokenEntry,
): { document: StoredTokenDocument; replaced: boolean } {
  const index = document.tokens.findIndex((existing) => existing.name === entry.name);
  const tokens = [...document.tokens];
  if (index === -1) tokens.push(entry);
  else tokens[index] = entry;
  return { document: { ...document, tokens }, replaced: index !== -1 };
}

/** The `--json` output: one line for scripts. */
export function tokenJsonLine(name: string, token: string, entry: TokenEntry): string {
  return JSON.stringify({ name, token, entry });
}
