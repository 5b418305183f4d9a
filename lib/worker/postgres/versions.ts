import type { PgConnection } from './connection';
import { type PgTool, psqlArgs, type RunOptions, run } from './tools';

// Versions: what the server and each tool say they are, compared by major release

export interface PgVersion {
  /** As printed: 15.18, 9.6.24. */
  display: string;
  /** The major release as server_version_num counts it: 150000, 90600. */
  majorNum: number;
  /** The major release as people say it: 15, 9.6. */
  major: string;
}

export function versionFromNum(versionNum: number, display: string): PgVersion {
  const majorNum =
    versionNum >= 100_000 ? Math.floor(versionNum / 10_000) * 10_000 : Math.floor(versionNum / 100) * 100;
  const major =
    majorNum >= 100_000 ? String(majorNum / 10_000) : `${Math.floor(majorNum / 10_000)}.${(majorNum / 100) % 100}`;
  return { display, majorNum, major };
}

/** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → 15.18. */
export function parseToolVersion(output: string): PgVersion | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(output);
  if (!match) return undefined;
  const [, first, second, third] = match;
  const major = Number(first);
  const display = [first, second, third].filter((part) => part !== undefined).join('.');
  const num = major >= 10 ? major * 10_000 + Number(second ?? 0) : major * 10_000 + Number(second ?? 0) * 100;
  return versionFromNum(num, display);
}

export async function toolVersion(tool: PgTool, connection: PgConnection, options: RunOptions): Promise<PgVersion> {
  const output = await run(tool, ['--version'], connection, options);
  const version = parseToolVersion(output);
  if (!version) throw new options.failure(`${tool} --version printed no PostgreSQL version`);
  return version;
}

export async function serverVersion(connection: PgConnection, options: RunOptions): Promise<PgVersion> {
  const output = await run('psql', psqlArgs('show server_version_num', 'show server_version'), connection, options);
  const [num, display] = output.split('\n').map((line) => line.trim());
  if (!num || !/^\d+$/.test(num) || !display)
    throw new options.failure(`${options.what}: psql printed no server version`);
  // Distributions append their build: 15.18 (Debian 15.18-0+deb12u1).
  return versionFromNum(Number(num), display.split(' ')[0] as string);
}
