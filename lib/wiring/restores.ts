import { regionFrom } from '../aws/endpoints';
import type { Home } from '../config/places';
import { drillRestore, type RestoreRequest, requestRestore } from '../restore/restore-requests';
import { onTargetEvent, reconcileRestores, type TargetEvent } from '../restore/restore-settlement';
import type { Restores } from '../restore/restores';
import { type RestoresContext, type RestoresDeps, restoresContext } from '../restore/restores-context';
import { audit } from './audit';
import { config } from './config';
import { publisher } from './notifications';
import { rdsFor } from './rds';
import { backupStore, restoreStore } from './stores';

let cached: RestoresContext | undefined;

/** What every restore flow of the container is given; restores of vault copies add RDS in the vault (lib/wiring/vault.ts). */
export function restoresDeps(): RestoresDeps {
  return {
    config: config(),
    store: restoreStore(),
    backups: backupStore(),
    rdsFor,
    region: regionFrom(),
    publisher: publisher(),
    audit: audit(),
  };
}

/** RDS restores and drills: new instances and clusters from snapshots or points in time, one context per container. */
function context(): RestoresContext {
  cached ??= restoresContext(restoresDeps());
  return cached;
}

/** Starting restores and drills, alone: none of what follows them to their end. */
export function restoreRequests(): Pick<Restores, 'request' | 'drill'> {
  const ctx = context();
  return {
    request: (asked: RestoreRequest) => requestRestore(ctx, asked),
    drill: (database: string) => drillRestore(ctx, database),
  };
}

/** Following restores and drills to their end: RDS events about their targets, and the reconciler. */
export function restoreSettlement(): Pick<Restores, 'reconcile' | 'onTargetEvent'> {
  const ctx = context();
  return {
    reconcile: () => reconcileRestores(ctx),
    onTargetEvent: (event: TargetEvent, home: Home) => onTargetEvent(ctx, event, home),
  };
}
