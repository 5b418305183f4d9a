import { regionFrom } from '../aws/endpoints';
import type { Backups } from '../backup/backups';
import { type BackupsContext, type BackupsDeps, backupsContext } from '../backup/backups-context';
import type { RdsSnapshotEvent } from '../backup/rds-events';
import { onSnapshotEvent } from '../backup/snapshot-settlement';
import { takeSnapshot } from '../backup/snapshots';
import type { Home } from '../config/places';
import { audit } from './audit';
import { config } from './config';
import { environment } from './environment';
import { publisher } from './notifications';
import { rdsFor } from './rds';
import { backupStore } from './stores';

let cached: BackupsContext | undefined;

/** What every snapshot flow of the container is given; the reconciler adds the vault's ports (lib/wiring/vault.ts). */
export function backupsDeps(): BackupsDeps {
  return {
    config: config(),
    store: backupStore(),
    rdsFor,
    region: regionFrom(),
    backupBucket: environment().backupBucket,
    publisher: publisher(),
    audit: audit(),
  };
}

/** RDS snapshots, their copies (in another region), exports and retention, over one context per container. */
function context(): BackupsContext {
  cached ??= backupsContext(backupsDeps());
  return cached;
}

/** Taking a snapshot now, alone: none of the copies, exports and deletions that follow it. */
export function snapshotTaking(): Pick<Backups, 'take'> {
  const ctx = context();
  return { take: (name: string, trigger: string) => takeSnapshot(ctx, name, trigger) };
}

/** A snapshot's completion event, alone: it settles the snapshot and queues its copies and exports. */
export function snapshotEvents(): Pick<Backups, 'onSnapshotEvent'> {
  const ctx = context();
  return { onSnapshotEvent: (event: RdsSnapshotEvent, home: Home) => onSnapshotEvent(ctx, event, home) };
}
