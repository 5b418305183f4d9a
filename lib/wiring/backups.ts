import { createRdsClient } from '../aws/clients/rds';
import { regionFrom } from '../aws/endpoints';
import { sharedByRegion } from '../aws/shared-clients';
import { Backups } from '../backup/backups';
import { audit } from './audit';
import { config } from './config';
import { environment } from './environment';
import { publisher } from './notifications';
import { backupStore } from './stores';

let cached: Backups | undefined;

/** RDS snapshots, their copies (in another region), exports and retention. */
export function backups(): Backups {
  cached ??= new Backups({
    config: config(),
    store: backupStore(),
    rdsFor: sharedByRegion(createRdsClient),
    region: regionFrom(),
    backupBucket: environment().backupBucket,
    publisher: publisher(),
    audit: audit(),
  });
  return cached;
}
