import { createDocumentClient } from '../aws/clients/dynamodb';
import { shared } from '../aws/shared-clients';
import { BackupStore, RestoreStore } from '../store/backups';
import { environment } from './environment';

/** Backup records on the state table, for what reads or writes them without the backup use cases. */
export function backupStore(): BackupStore {
  return new BackupStore(shared(createDocumentClient), environment().stateTable);
}

/** Restore records on the state table. */
export function restoreStore(): RestoreStore {
  return new RestoreStore(shared(createDocumentClient), environment().stateTable);
}
