/**
 * Logical PostgreSQL backups: `pg_dump -Fc` streamed to S3 beside a manifest, and restores that
 * check the dump against its manifest before pg_restore touches the target. Credentials reach the
 * PostgreSQL tools through their environment only, never their argv, so `ps` and logs never see them.
 */

import type { PgConnection } from './connection';
import { backupPostgres, type DumpResult } from './dump';
import { dropDatabase, restorePostgres } from './restore';

export { connectionFromSecret, connectionFromUrl, type PgConnection } from './connection';
export { backupPostgres, DUMP_UPLOAD, DumpFailed, type DumpResult } from './dump';
export { backupTimestamp, MANIFEST_FORMAT, type PostgresManifest } from './manifest';
export { countRelations, dropDatabase, RestoreFailed, restorePostgres } from './restore';
export {
  dumpArgs,
  type PgCommand,
  type PgTool,
  pgCommand,
  psqlArgs,
  quoteIdentifier,
  quoteLiteral,
  restoreArgs,
  scrubbedTail,
} from './tools';
export { type PgVersion, parseToolVersion, versionFromNum } from './versions';

/**
 * What a worker job needs of PostgreSQL: passed in, so the volume function, which runs no dump, carries none of it.
 * Signatures of their own, not `typeof backupPostgres`: a call through them reaches the tools only where a runner
 * passes them (the worker task), for the call graph the IAM proof builds as for the bundle.
 */
export interface PostgresTools {
  backup: (options: Parameters<typeof backupPostgres>[0]) => Promise<DumpResult>;
  restore: (options: Parameters<typeof restorePostgres>[0]) => ReturnType<typeof restorePostgres>;
  drop: (connection: PgConnection, database: string, binDir?: string) => Promise<void>;
}

export const postgresTools: PostgresTools = { backup: backupPostgres, restore: restorePostgres, drop: dropDatabase };
