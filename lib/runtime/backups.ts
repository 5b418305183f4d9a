import { clients, createClient, perRegion } from '../aws/clients';
import { regionFrom } from '../aws/endpoints';
import { Backups } from '../backup/backups';
import { Restores } from '../restore/restores';
import { BackupStore, RestoreStore } from '../store/backups';
import { runtime } from '.';
import { publisher } from './deployments';

/** Snapshot copies live in another region. */
const rdsFor = perRegion(clients.rds, createClient.rds);
let cachedBackups: Backups | undefined;
let cachedRestores: Restores | undefined;

export function backups(): Backups {
  const { env, config } = runtime();
  cachedBackups ??= new Backups({
    config,
    store: new BackupStore(clients.documents(), env.stateTable),
    rdsFor,
    region: regionFrom(),
    backupBucket: env.backupBucket,
    publisher: publisher(),
  });
  return cachedBackups;
}

export function restores(): Restores {
  const { env, config } = runtime();
  cachedRestores ??= new Restores({
    config,
    store: new RestoreStore(clients.documents(), env.stateTable),
    backups: new BackupStore(clients.documents(), env.stateTable),
    rds: rdsFor(regionFrom()),
    region: regionFrom(),
    publisher: publisher(),
  });
  return cachedRestores;
}
