import { randomUUID } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { AuditRecorder } from '../audit/trail';
import type { Operation, Place } from '../aws/account-credentials';
import type { DatabaseConfig, SlipwayConfig } from '../config/schema';
import { NotFound } from '../errors';
import type { Publisher } from '../notify/publisher';
import type { BackupStore } from '../store/backups';
import { type AnyBackupRecord, type BackupRecord, isArchive } from './records';

/**
 * What every part of the RDS snapshot use case shares: its ports, its clock and ids, the database
 * config names, and the notification each change of a backup sends.
 */

export interface BackupsDeps {
  config: SlipwayConfig;
  store: BackupStore;
  /** RDS where a database's resources are (copies go to another region), as the operation's session in another account. */
  rdsFor: (place: Place, operation: Operation) => RDSClient;
  /** The control plane's own region: a database's where it names none. */
  region: string;
  backupBucket: string;
  publisher: Publisher;
  /** Where what Slipway does by itself (scheduled backups, retention, drills) is recorded. */
  audit: AuditRecorder;
  /** The backup vault's ports, with backups.vaultAccount. */
  vault?: VaultPorts;
  now?: () => Date;
  newId?: () => string;
}

/**
 * The backup vault (backups.vaultAccount): RDS as the vault account's role, per operation; KMS where a database's
 * snapshots are (its account and region, as the operation's session on that account's role), for the grant on its key.
 */
export interface VaultPorts {
  rdsIn: (region: string, operation: Operation) => RDSClient;
  kmsFor: (place: Place, operation: Operation) => KMSClient;
}

export interface BackupsContext {
  deps: BackupsDeps;
  now: () => Date;
  newId: () => string;
}

export function backupsContext(deps: BackupsDeps): BackupsContext {
  return {
    deps,
    now: deps.now ?? (() => new Date()),
    newId: deps.newId ?? (() => `bkp-${randomUUID()}`),
  };
}

/** The tag value that marks a snapshot as Slipway's. */
export const CREATED_BY = 'slipway';
export const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');
// A database's partition also lists its dumps, which this use case leaves to Archives.
export const snapshotsOnly = (records: AnyBackupRecord[]) =>
  records.filter((record): record is BackupRecord => !isArchive(record));

/** What reading the snapshots of a configured database needs of the context: no publisher, no audit. */
export interface SnapshotReadContext {
  deps: Pick<BackupsDeps, 'config' | 'rdsFor' | 'region'>;
  now: () => Date;
}

export function configuredDatabase(ctx: Pick<SnapshotReadContext, 'deps'>, name: string): DatabaseConfig {
  const db = Object.hasOwn(ctx.deps.config.databases, name) ? ctx.deps.config.databases[name] : undefined;
  if (!db) throw new NotFound(`no database named ${name}`, { details: { database: name } });
  return db;
}

export function sourceOf(db: DatabaseConfig) {
  return db.rdsCluster
    ? { type: 'cluster' as const, identifier: db.rdsCluster }
    : { type: 'instance' as const, identifier: db.rdsInstance as string };
}

export async function notify(ctx: BackupsContext, record: BackupRecord) {
  await ctx.deps.publisher.publish({
    subject: `Slipway: ${record.database} ${record.kind} ${record.status}`,
    type: 'backup.state',
    app: record.database,
    environment: record.region,
    state: record.status,
    body: {
      backup: {
        id: record.id,
        database: record.database,
        kind: record.kind,
        status: record.status,
        snapshot: record.snapshotIdentifier,
        region: record.region,
        ...(record.reason ? { reason: record.reason } : {}),
        ...(record.sizeGiB !== undefined ? { sizeGiB: record.sizeGiB } : {}),
        ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
      },
    },
  });
}
