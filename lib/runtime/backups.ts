import type { RDSClient } from '@aws-sdk/client-rds';
import { clients, createClient } from '../aws/clients';
import { regionFrom } from '../aws/endpoints';
import { Backups } from '../backup/backups';
import { tracer } from '../observability';
import { Restores } from '../restore/restores';
import { BackupStore, RestoreStore } from '../store/backups';
import { runtime } from '.';
import { publisher } from './deployments';

/** Copies go to another region: one RDS client per region. */
function rdsClients(): (region: string) => RDSClient {
  const byRegion = new Map<string, RDSClient>();
  return (region) => {
    let client = byRegion.get(region);
    if (!client) {
      client =
        region === regionFrom()
          ? clients.rds()
          : tracer.captureAWSv3Client(createClient.rds({ ...process.env, AWS_REGION: region }));
      byRegion.set(region, client);
    }
    return client;
  };
}

const rdsFor = rdsClients();
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
