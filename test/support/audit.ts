import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry, auditTrail } from '../../lib/audit/trail';
import { AuditStore } from '../../lib/store/audit';

const DAY_MS = 86_400_000;

/** The real trail on a state table: what a test did is read back through the store's own listing. */
export function auditOn(documents: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()) {
  const store = new AuditStore(documents, tableName, 400);
  return {
    audit: auditTrail(store, now),
    store,
    /** Every entry from a day before the clock to a day after it, oldest first. */
    async entries(): Promise<AuditEntry[]> {
      const at = now().getTime();
      const page = await store.list({
        since: new Date(at - DAY_MS).toISOString(),
        oldest: new Date(at - DAY_MS).toISOString(),
        until: new Date(at + DAY_MS).toISOString(),
        limit: 500,
      });
      return page.items;
    },
  };
}

/** The real trail into memory, for unit tests of the route chain. */
export function memoryAudit(now: () => Date = () => new Date()) {
  const entries: AuditEntry[] = [];
  return {
    entries,
    audit: auditTrail(
      {
        // As the store's conditional put: an entry with the same time and id is kept, the new one dropped.
        put: async (entry) => {
          if (entries.some((kept) => kept.at === entry.at && kept.id === entry.id)) return false;
          entries.push(entry);
          return true;
        },
      },
      now,
    ),
  };
}
