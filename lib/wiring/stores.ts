import { createDocumentClient } from '../aws/clients/dynamodb';
import { shared } from '../aws/shared-clients';
import { BackupStore, RestoreStore } from '../store/backups';
import { DeploymentStore } from '../store/deployments';
import { HealthStore } from '../store/health';
import { EnvironmentLocks } from '../store/locks';
import { environment } from './environment';

/** Backup records on the state table, for what reads or writes them without the backup use cases. */
export function backupStore(): BackupStore {
  return new BackupStore(shared(createDocumentClient), environment().stateTable);
}

/** Restore records on the state table. */
export function restoreStore(): RestoreStore {
  return new RestoreStore(shared(createDocumentClient), environment().stateTable);
}

/** Deployment records on the state table. */
export function deploymentStore(): DeploymentStore {
  return new DeploymentStore(shared(createDocumentClient), environment().stateTable);
}

/** The one-deployment-at-a-time lock of each environment, on the state table. */
export function environmentLocks(): EnvironmentLocks {
  return new EnvironmentLocks(shared(createDocumentClient), environment().stateTable);
}

/** Each environment's last health check results, on the state table. */
export function healthStore(): HealthStore {
  return new HealthStore(shared(createDocumentClient), environment().stateTable);
}
