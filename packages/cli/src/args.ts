import { type ParseArgsConfig, parseArgs } from 'node:util';
import { SetupError, UsageError } from './errors';
import { COMMAND_USAGE } from './usage';
import { DEFAULT_TIMEOUT_MINUTES, timeoutMinutesOf } from './wait';

/**
 * The command line as data: which command, its arguments checked for presence and shape,
 * and the global settings. Everything the server validates (names, tags, kinds) is left to it,
 * so there is one source of truth for what is valid and one message for it.
 */

export interface Globals {
  json: boolean;
  url?: string;
  token?: string;
  profile?: string;
  /** Present when --insecure allows the token over plain http to a host other than this machine. */
  insecure?: true;
}

export interface Waiting {
  wait: boolean;
  /** Minutes to follow before giving up. */
  timeoutMinutes: number;
}

export type RestoreBody =
  | { kind: 'rds'; database: string; targetIdentifier: string; backupId?: string; pointInTime?: string }
  | { kind: 'volume'; volume: string; backupId?: string; targetPath?: string; force?: true }
  | { kind: 'postgres-dump'; database: string; targetDatabase: string; backupId?: string; force?: true };

export type Command =
  | ({
      name: 'deploy';
      app: string;
      environment: string;
      tag?: string;
      digest?: string;
      reason?: string;
      dryRun: boolean;
    } & Waiting)
  | { name: 'status'; app?: string; environment?: string }
  | { name: 'history'; app: string; environment: string; limit: number }
  | ({ name: 'approve'; id: string } & Waiting)
  | { name: 'cancel'; id: string }
  | ({ name: 'rollback'; app: string; environment: string; reason?: string; dryRun: boolean } & Waiting)
  | ({
      name: 'promote';
      app: string;
      environment: string;
      from?: string;
      reason?: string;
      dryRun: boolean;
    } & Waiting)
  | { name: 'backups'; database?: string; volume?: string; kind?: string; status?: string; limit?: number }
  | { name: 'backup'; target: 'database' | 'volume' | 'dump'; subject: string }
  | ({ name: 'restore'; body: RestoreBody } & Waiting)
  | { name: 'audit'; since?: string; until?: string; limit: number; filter: AuditFilter }
  | { name: 'sandbox-push'; app: string; tag: string }
  | { name: 'sandbox-alarm'; app: string; environment: string; state: 'ALARM' | 'OK' };

/** What `slipway audit` narrows the trail to, as GET /v1/audit's query names it. */
export interface AuditFilter {
  actor?: string;
  decision?: string;
  action?: string;
}

export type Invocation =
  | { kind: 'help'; command?: string }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; globals: Globals };

type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  profile: { type: 'string' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies Options;

const WAIT_OPTIONS = { wait: { type: 'boolean' }, timeout: { type: 'string' } } as const satisfies Options;
const REQUEST_OPTIONS = { reason: { type: 'string' }, 'dry-run': { type: 'boolean' } } as const satisfies Options;

const COMMAND_OPTIONS: Record<string, Options> = {
  deploy: { tag: { type: 'string' }, digest: { type: 'string' }, ...REQUEST_OPTIONS, ...WAIT_OPTIONS },
  status: {},
  history: { limit: { type: 'string' } },
  approve: { ...WAIT_OPTIONS },
  cancel: {},
  rollback: { ...REQUEST_OPTIONS, ...WAIT_OPTIONS },
  promote: { to: { type: 'string' }, from: { type: 'string' }, ...REQUEST_OPTIONS, ...WAIT_OPTIONS },
  backups: {
    database: { type: 'string' },
    volume: { type: 'string' },
    kind: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
  },
  backup: { volume: { type: 'boolean' }, dump: { type: 'boolean' } },
  restore: {
    database: { type: 'string' },
    volume: { type: 'string' },
    dump: { type: 'boolean' },
    backup: { type: 'string' },
    'point-in-time': { type: 'string' },
    'target-identifier': { type: 'string' },
    'target-path': { type: 'string' },
    'target-database': { type: 'string' },
    force: { type: 'boolean' },
    ...WAIT_OPTIONS,
  },
  audit: {
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    actor: { type: 'string' },
    decision: { type: 'string' },
    action: { type: 'string' },
  },
  sandbox: { ok: { type: 'boolean' } },
  help: {},
};

export const COMMANDS = Object.keys(COMMAND_OPTIONS);
export const DEFAULT_HISTORY_LIMIT = 20;
const MAX_HISTORY_LIMIT = 1_000;
export const DEFAULT_AUDIT_LIMIT = 100;
const MAX_AUDIT_LIMIT = 10_000;

export const TOKEN_MOVED =
  'tokens are minted in a Slipway checkout, beside the control plane: npm run token -- --name <name> --role <role>';

/** Global flags that take a value: their value is never the command. */
const GLOBAL_VALUE_FLAGS = new Set(['--url', '--token', '--profile']);

/** Index of the command word: the first argument that is neither a flag nor a global flag's value. */
function commandIndex(argv: ReadonlyArray<string>): number {
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    if (arg === '--') return index + 1 < argv.length ? index + 1 : -1;
    if (GLOBAL_VALUE_FLAGS.has(arg)) {
      index += 1;
      continue;
    }
    if (!arg.startsWith('-')) return index;
  }
  return -1;
}

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(command: string, args: string[]): { values: Values; positionals: string[] } {
  const options: Options = { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[command] };
  let parsed: ReturnType<typeof parseArgs<{ options: Options; allowPositionals: true; strict: true; tokens: true }>>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    // parseArgs' messages name the argument ("Unknown option '--tga'"); their advice about '--' does not apply.
    const message = ((error as Error).message.split('\n')[0] ?? 'invalid arguments').replace(/\. To specify .*$/, '');
    throw new UsageError(message, command);
  }
  const seen = new Map<string, number>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option' || options[token.name]?.multiple) continue;
    const count = (seen.get(token.name) ?? 0) + 1;
    seen.set(token.name, count);
    if (count === 2) throw new UsageError(`--${token.name} is given more than once`, command);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

const text = (values: Values, name: string): string | undefined => {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} needs a value`);
  return value;
};
const flag = (values: Values, name: string): boolean => values[name] === true;

function positionals(
  command: string,
  given: string[],
  names: { required: string[]; optional?: string[] },
): Record<string, string | undefined> {
  const optional = names.optional ?? [];
  const missing = names.required.slice(given.length);
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((name) => `<${name}>`).join(' ')}`, command);
  const extra = given.slice(names.required.length + optional.length);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, command);
  return Object.fromEntries([...names.required, ...optional].map((name, index) => [name, given[index]]));
}

function integer(name: string, value: string | undefined, command: string, max?: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1 || (max !== undefined && number > max)) {
    throw new UsageError(
      `--${name} ${JSON.stringify(value)}: expected a whole number from 1${max ? ` to ${max}` : ''}`,
      command,
    );
  }
  return number;
}

function waiting(values: Values, command: string): Waiting {
  const wait = flag(values, 'wait');
  const timeout = text(values, 'timeout');
  if (timeout !== undefined && !wait) throw new UsageError('--timeout applies only with --wait', command);
  if (wait && flag(values, 'dry-run'))
    throw new UsageError('--dry-run changes nothing, so there is nothing to --wait for', command);
  const timeoutMinutes = timeout === undefined ? DEFAULT_TIMEOUT_MINUTES : timeoutMinutesOf(timeout);
  if (timeoutMinutes === undefined) {
    throw new UsageError(`--timeout ${JSON.stringify(timeout)}: expected minutes, a number above 0`, command);
  }
  return { wait, timeoutMinutes };
}

function requestFields(values: Values) {
  const reason = text(values, 'reason');
  return { ...(reason !== undefined ? { reason } : {}), dryRun: flag(values, 'dry-run') };
}

/** Only the flags of one restore form may be given with it. */
function refuse(values: Values, names: string[], form: string): void {
  const given = names.find((name) => values[name] !== undefined);
  if (given) throw new UsageError(`--${given} does not apply to ${form}`, 'restore');
}

function restoreBody(values: Values): RestoreBody {
  const database = text(values, 'database');
  const volume = text(values, 'volume');
  const backupId = text(values, 'backup');
  const force = flag(values, 'force') ? { force: true as const } : {};
  const backup = backupId !== undefined ? { backupId } : {};
  if ((database === undefined) === (volume === undefined)) {
    throw new UsageError(
      database === undefined
        ? 'give --database (an RDS or dump restore) or --volume'
        : 'give --database or --volume, not both',
      'restore',
    );
  }
  if (volume !== undefined) {
    refuse(values, ['dump', 'point-in-time', 'target-identifier', 'target-database'], 'a volume restore');
    const targetPath = text(values, 'target-path');
    return { kind: 'volume', volume, ...backup, ...(targetPath !== undefined ? { targetPath } : {}), ...force };
  }
  if (flag(values, 'dump')) {
    refuse(values, ['point-in-time', 'target-identifier', 'target-path'], 'a dump restore');
    const targetDatabase = text(values, 'target-database');
    if (targetDatabase === undefined) {
      throw new UsageError('--target-database is required: the database to restore the dump into', 'restore');
    }
    return { kind: 'postgres-dump', database: database as string, targetDatabase, ...backup, ...force };
  }
  refuse(values, ['target-path', 'target-database'], 'an RDS restore');
  if (values.force !== undefined) {
    throw new UsageError('--force does not apply to an RDS restore: it always creates a new instance', 'restore');
  }
  const targetIdentifier = text(values, 'target-identifier');
  if (targetIdentifier === undefined) {
    throw new UsageError('--target-identifier is required: the new RDS instance or cluster to restore into', 'restore');
  }
  const pointInTime = text(values, 'point-in-time');
  if ((backupId === undefined) === (pointInTime === undefined)) {
    throw new UsageError(
      backupId === undefined
        ? 'give --backup or --point-in-time for an RDS restore'
        : 'give --backup or --point-in-time, not both',
      'restore',
    );
  }
  return {
    kind: 'rds',
    database: database as string,
    targetIdentifier,
    ...backup,
    ...(pointInTime !== undefined ? { pointInTime } : {}),
  };
}

function sandboxCommand(values: Values, given: string[]): Command {
  const [sub, ...rest] = given;
  if (sub === 'push') {
    if (flag(values, 'ok')) throw new UsageError('--ok applies to sandbox alarm, not push', 'sandbox');
    const { app, tag } = positionals('sandbox', rest, { required: ['app', 'tag'] });
    return { name: 'sandbox-push', app: app as string, tag: tag as string };
  }
  if (sub === 'alarm') {
    const { app, env } = positionals('sandbox', rest, { required: ['app', 'env'] });
    return {
      name: 'sandbox-alarm',
      app: app as string,
      environment: env as string,
      state: flag(values, 'ok') ? 'OK' : 'ALARM',
    };
  }
  throw new UsageError(
    sub === undefined
      ? 'missing <subcommand>: push or alarm'
      : `unknown subcommand ${JSON.stringify(sub)}; expected push or alarm`,
    'sandbox',
  );
}

function build(command: string, values: Values, given: string[]): Command {
  switch (command) {
    case 'deploy': {
      const { app, env } = positionals(command, given, { required: ['app', 'env'] });
      const tag = text(values, 'tag');
      const digest = text(values, 'digest');
      if ((tag === undefined) === (digest === undefined)) {
        throw new UsageError(
          tag === undefined ? 'give --tag or --digest' : 'give --tag or --digest, not both',
          command,
        );
      }
      return {
        name: 'deploy',
        app: app as string,
        environment: env as string,
        ...(tag !== undefined ? { tag } : {}),
        ...(digest !== undefined ? { digest } : {}),
        ...requestFields(values),
        ...waiting(values, command),
      };
    }
    case 'status': {
      const { app, env } = positionals(command, given, { required: [], optional: ['app', 'env'] });
      return {
        name: 'status',
        ...(app !== undefined ? { app } : {}),
        ...(env !== undefined ? { environment: env } : {}),
      };
    }
    case 'history': {
      const { app, env } = positionals(command, given, { required: ['app', 'env'] });
      const limit = integer('limit', text(values, 'limit'), command, MAX_HISTORY_LIMIT) ?? DEFAULT_HISTORY_LIMIT;
      return { name: 'history', app: app as string, environment: env as string, limit };
    }
    case 'approve': {
      const { 'deployment-id': id } = positionals(command, given, { required: ['deployment-id'] });
      return { name: 'approve', id: id as string, ...waiting(values, command) };
    }
    case 'cancel': {
      const { 'deployment-id': id } = positionals(command, given, { required: ['deployment-id'] });
      return { name: 'cancel', id: id as string };
    }
    case 'rollback': {
      const { app, env } = positionals(command, given, { required: ['app', 'env'] });
      return {
        name: 'rollback',
        app: app as string,
        environment: env as string,
        ...requestFields(values),
        ...waiting(values, command),
      };
    }
    case 'promote': {
      const { app } = positionals(command, given, { required: ['app'] });
      const to = text(values, 'to');
      if (to === undefined) throw new UsageError('--to is required: the environment to promote into', command);
      const from = text(values, 'from');
      return {
        name: 'promote',
        app: app as string,
        environment: to,
        ...(from !== undefined ? { from } : {}),
        ...requestFields(values),
        ...waiting(values, command),
      };
    }
    case 'backups': {
      positionals(command, given, { required: [] });
      const database = text(values, 'database');
      const volume = text(values, 'volume');
      if (database !== undefined && volume !== undefined) {
        throw new UsageError('give --database or --volume, not both', command);
      }
      const kind = text(values, 'kind');
      const status = text(values, 'status');
      const limit = integer('limit', text(values, 'limit'), command);
      return {
        name: 'backups',
        ...(database !== undefined ? { database } : {}),
        ...(volume !== undefined ? { volume } : {}),
        ...(kind !== undefined ? { kind } : {}),
        ...(status !== undefined ? { status } : {}),
        ...(limit !== undefined ? { limit } : {}),
      };
    }
    case 'backup': {
      const { name } = positionals(command, given, { required: ['name'] });
      if (flag(values, 'volume') && flag(values, 'dump')) {
        throw new UsageError('--volume and --dump do not go together: a dump is of a database', command);
      }
      const target = flag(values, 'volume') ? 'volume' : flag(values, 'dump') ? 'dump' : 'database';
      return { name: 'backup', target, subject: name as string };
    }
    case 'restore': {
      positionals(command, given, { required: [] });
      return { name: 'restore', body: restoreBody(values), ...waiting(values, command) };
    }
    case 'audit': {
      positionals(command, given, { required: [] });
      const since = text(values, 'since');
      const until = text(values, 'until');
      const limit = integer('limit', text(values, 'limit'), command, MAX_AUDIT_LIMIT) ?? DEFAULT_AUDIT_LIMIT;
      const filter: AuditFilter = {};
      for (const field of ['actor', 'decision', 'action'] as const) {
        const value = text(values, field);
        if (value !== undefined) filter[field] = value;
      }
      return {
        name: 'audit',
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        limit,
        filter,
      };
    }
    case 'sandbox':
      return sandboxCommand(values, given);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** `argv` without node and the script: what to do, or a UsageError saying why not. */
export function parseCommandLine(argv: ReadonlyArray<string>): Invocation {
  const at = commandIndex(argv);
  const command = at === -1 ? undefined : (argv[at] as string);
  const rest = at === -1 ? [...argv] : [...argv.slice(0, at), ...argv.slice(at + 1)];
  const asksHelp = rest.includes('--help') || rest.includes('-h');

  if (command === undefined) {
    if (asksHelp) return { kind: 'help' };
    if (rest.includes('--version')) return { kind: 'version' };
    const unknown = rest.find(
      (arg) => arg.startsWith('-') && !Object.hasOwn(GLOBAL_OPTIONS, arg.replace(/^--?|=.*$/g, '')),
    );
    throw new UsageError(unknown ? `unknown option ${JSON.stringify(unknown)}` : 'missing <command>');
  }
  if (!Object.hasOwn(COMMAND_OPTIONS, command)) {
    if (asksHelp) return { kind: 'help' };
    // Minting writes the control plane's token entries, so it stays with the control plane's code.
    if (command === 'token') throw new SetupError(TOKEN_MOVED);
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
  if (command === 'help') {
    const [topic, ...extra] = parse(command, rest).positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, 'help');
    if (topic !== undefined && !Object.hasOwn(COMMAND_USAGE, topic)) {
      throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
    }
    return topic === undefined ? { kind: 'help' } : { kind: 'help', command: topic };
  }
  // Help never fails on the arguments it was asked about.
  if (asksHelp) return { kind: 'help', command };

  const { values, positionals: given } = parse(command, rest);
  if (values.version === true) return { kind: 'version' };
  const globals: Globals = {
    json: values.json === true,
    ...(typeof values.url === 'string' ? { url: values.url } : {}),
    ...(typeof values.token === 'string' ? { token: values.token } : {}),
    ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
    ...(values.insecure === true ? { insecure: true as const } : {}),
  };
  let built: Command;
  try {
    built = build(command, values, given);
  } catch (error) {
    // Builders' messages name the flag; the command is attached here once.
    if (error instanceof UsageError && error.command === undefined) throw new UsageError(error.message, command);
    throw error;
  }
  return { kind: 'run', command: built, globals };
}
