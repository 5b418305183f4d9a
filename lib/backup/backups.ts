import type { Operation } from '../aws/account-credentials';
import type { Home } from '../config/places';
import type { DatabaseConfig } from '../config/schema';
import { type BackupsContext, type BackupsDeps, backupsContext, configuredDatabase } from './backups-context';
import { previewOperation } from './database-places';
import type { RdsSnapshotEvent } from './rds-events';
import type { BackupRecord } from './records';
import type { RetentionDecision } from './retention';
import { applySnapshotRetention, previewSnapshotRetention } from './snapshot-retention';
import { onSnapshotEvent, reconcileBackups } from './snapshot-settlement';
import { takeSnapshot } from './snapshots';

export type { BackupsDeps } from './backups-context';
export { ACCOUNT_EXPORTS_IN_FLIGHT } from './snapshot-follow-ups';

/**
 * Nightly RDS snapshots and what follows them: completion (event or reconciler), the copy to
 * another region, the export to S3 (both queued under RDS's limits), retention and staleness.
 * The front for the handlers: taking (snapshots.ts), settling (snapshot-settlement.ts) and
 * retention (snapshot-retention.ts), over one context.
 */
export class Backups {
  private readonly context: BackupsContext;

  constructor(deps: BackupsDeps) {
    this.context = backupsContext(deps);
  }

  database(name: string): DatabaseConfig {
    return configuredDatabase(this.context, name);
  }

  /** Takes a snapshot now: skipped with the reason when the source is not available, refused when the quota is full. */
  take(name: string, trigger: string): Promise<BackupRecord> {
    return takeSnapshot(this.context, name, trigger);
  }

  /** A snapshot event: the snapshot Slipway made is available; copies and exports follow. */
  onSnapshotEvent(event: RdsSnapshotEvent, home: Home): Promise<{ applied: boolean; reason: string }> {
    return onSnapshotEvent(this.context, event, home);
  }

  /** The schedule: settles what events left open, starts queued copies and exports, publishes backup ages. */
  reconcile(): Promise<Array<{ id: string; outcome: string }>> {
    return reconcileBackups(this.context);
  }

  /** What retention would delete now, and why, without deleting anything. */
  retentionPreview(database: string, principal: string): Promise<RetentionDecision> {
    return previewSnapshotRetention(this.context, database, previewOperation(database, principal));
  }

  /** Deletes what retention says, in every region, recording each deletion. */
  applyRetention(database: string, operation: Operation): Promise<RetentionDecision> {
    return applySnapshotRetention(this.context, database, operation);
  }
}
