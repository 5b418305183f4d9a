import { InvalidInput } from '../../errors';
import { registerSecretValue } from '../../observability';

// Connections: a database's address and credentials, from an RDS secret or a URL

export interface PgConnection {
  host: string;
  port: number;
  username: string;
  password: string;
  dbname: string;
}

const DEFAULT_PORT = 5432;
// The RDS secret format leaves dbname out for the instance's default database.
const DEFAULT_DBNAME = 'postgres';
const POSTGRES_ENGINES = new Set(['postgres', 'postgresql', 'aurora-postgresql']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parsePort(value: unknown, source: string): number {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidInput(`${source}: "port" is not a TCP port`);
  }
  return port;
}

/** The RDS secret format in Secrets Manager: {host, port, username, password, dbname, engine?}. */
export function connectionFromSecret(secretString: string): PgConnection {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // The SyntaxError quotes the text it choked on, so it is not kept as the cause.
    throw new InvalidInput('the database secret is not JSON');
  }
  if (!isRecord(parsed)) throw new InvalidInput('the database secret is not a JSON object');
  if (typeof parsed.password === 'string') registerSecretValue(parsed.password);

  const source = 'the database secret';
  const text = (field: string): string => {
    const value = parsed[field];
    if (value === undefined || value === null || value === '') throw new InvalidInput(`${source} has no "${field}"`);
    if (typeof value !== 'string') throw new InvalidInput(`${source}: "${field}" is not a string`);
    return value;
  };
  if (parsed.engine !== undefined && !POSTGRES_ENGINES.has(String(parsed.engine))) {
    throw new InvalidInput(`${source} is not for PostgreSQL (its "engine" is not postgres)`);
  }
  const connection = {
    host: text('host'),
    port: parsed.port === undefined || parsed.port === null ? DEFAULT_PORT : parsePort(parsed.port, source),
    username: text('username'),
    password: text('password'),
    dbname: parsed.dbname === undefined || parsed.dbname === null ? DEFAULT_DBNAME : text('dbname'),
  };
  return connection;
}

/** postgres://user:pass@host:port/db, percent-decoded. */
export function connectionFromUrl(url: string): PgConnection {
  const source = 'the database URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // A TypeError from URL quotes the input, password included.
    throw new InvalidInput(`${source} is not a URL`);
  }
  const password = safeDecode(parsed.password, source, 'password');
  registerSecretValue(password);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InvalidInput(`${source} is not a postgres:// URL`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const username = safeDecode(parsed.username, source, 'user name');
  const dbname = safeDecode(parsed.pathname.replace(/^\//, ''), source, 'database name');
  if (!host) throw new InvalidInput(`${source} has no host`);
  if (!username) throw new InvalidInput(`${source} has no user name`);
  if (!password) throw new InvalidInput(`${source} has no password`);
  if (!dbname) throw new InvalidInput(`${source} has no database name`);
  return { host, port: parsed.port ? parsePort(parsed.port, source) : DEFAULT_PORT, username, password, dbname };
}

function safeDecode(value: string, source: string, part: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new InvalidInput(`${source}: its ${part} is not percent-encoded correctly`);
  }
}

export const label = (connection: PgConnection, dbname = connection.dbname) =>
  `${connection.username}@${connection.host}:${connection.port}/${dbname}`;
