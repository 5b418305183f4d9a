import type { SlipwayConfig } from '../config/schema';
import type { BackupStore } from '../store/backups';
import { type ArchiveSubject, archiveSettings, previewArchiveRetention } from './archive-retention';
import { configuredDatabase, type SnapshotReadContext } from './backups-context';
import { previewOperation } from './database-places';
import type { RetentionDecision } from './retention';
import { previewSnapshotRetention } from './snapshot-retention';

export interface RetentionPreviewDeps {
  config: SlipwayConfig;
  store: Pick<BackupStore, 'list'>;
  rdsFor: SnapshotReadContext['deps']['rdsFor'];
  region: string;
  now?: () => Date;
}

/**
 * What retention would delete now, read-only: a database's snapshots from RDS, a volume's archives or a
 * database's dumps from the state table. The same decisions the backups and archives use cases apply,
 * without what they need to act (S3, ECS, Lambda, the topic, the audit trail).
 */
export type RetentionPreviews = ReturnType<typeof retentionPreviews>;

export function retentionPreviews(deps: RetentionPreviewDeps) {
  const now = deps.now ?? (() => new Date());
  const snapshots: SnapshotReadContext = { deps, now };
  return {
    database: (name: string) => configuredDatabase(snapshots, name),
    snapshots: (database: string, principal: string): Promise<RetentionDecision> =>
      previewSnapshotRetention(snapshots, database, previewOperation(database, principal)),
    archiveSettings: (subject: ArchiveSubject) => archiveSettings(deps.config, subject),
    archives: (subject: ArchiveSubject): Promise<RetentionDecision> =>
      previewArchiveRetention({ config: deps.config, store: deps.store, now }, subject),
  };
}
