import { regionFrom } from '../aws/endpoints';
import { retentionPreviews as previews, type RetentionPreviews } from '../backup/retention-previews';
import { config } from './config';
import { rdsFor } from './rds';
import { backupStore } from './stores';

let cached: RetentionPreviews | undefined;

/** Retention previews for the backups listing: RDS and the state table, read-only. */
export function retentionPreviews(): RetentionPreviews {
  cached ??= previews({
    config: config(),
    store: backupStore(),
    rdsFor,
    region: regionFrom(),
  });
  return cached;
}
