import { createRdsClient } from '../aws/clients/rds';
import { regionFrom } from '../aws/endpoints';
import { sharedByRegion } from '../aws/shared-clients';
import { retentionPreviews as previews, type RetentionPreviews } from '../backup/retention-previews';
import { config } from './config';
import { backupStore } from './stores';

let cached: RetentionPreviews | undefined;

/** Retention previews for the backups listing: RDS and the state table, read-only. */
export function retentionPreviews(): RetentionPreviews {
  cached ??= previews({
    config: config(),
    store: backupStore(),
    rdsFor: sharedByRegion(createRdsClient),
    region: regionFrom(),
  });
  return cached;
}
