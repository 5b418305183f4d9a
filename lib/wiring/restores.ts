import { createRdsClient } from '../aws/clients/rds';
import { regionFrom } from '../aws/endpoints';
import { shared } from '../aws/shared-clients';
import { Restores } from '../restore/restores';
import { audit } from './audit';
import { config } from './config';
import { publisher } from './notifications';
import { backupStore, restoreStore } from './stores';

let cached: Restores | undefined;

/** RDS restores and drills: new instances and clusters from snapshots or points in time. */
export function restores(): Restores {
  cached ??= new Restores({
    config: config(),
    store: restoreStore(),
    backups: backupStore(),
    rds: shared(createRdsClient),
    region: regionFrom(),
    publisher: publisher(),
    audit: audit(),
  });
  return cached;
}
