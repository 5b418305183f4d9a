import type { Credentials } from '../../lib/auth/token-source';
import type { ArchiveSubject, Archives } from '../../lib/backup/archives';
import type { Backups } from '../../lib/backup/backups';
import { volumeSubject } from '../../lib/backup/records';
import type { RetentionDecision } from '../../lib/backup/retention';
import type { RetentionPreviews } from '../../lib/backup/retention-previews';
import { NotFound } from '../../lib/errors';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import type { BackupStore } from '../../lib/store/backups';
import { config } from '../../lib/wiring/config';
import { retentionPreviews } from '../../lib/wiring/retention-previews';
import { backupStore } from '../../lib/wiring/stores';
import { tokens } from '../../lib/wiring/tokens';

export interface ListBackupsDeps {
  tokens: Credentials;
  backups: Pick<Backups, 'retentionPreview' | 'database'>;
  archives: Pick<Archives, 'retentionPreview' | 'settings'>;
  store: Pick<BackupStore, 'list'>;
  databases: string[];
  volumes: string[];
}

const PAGE_READS = 5;

/**
 * `GET /v1/backups`: by database or volume, kind, status and time, newest first; `retention=preview`
 * lists what retention would delete (a database's snapshots, or with kind=postgres-dump its dumps; a volume's archives).
 */
export function makeHandler(deps: ListBackupsDeps) {
  return httpRoute(routes.listBackups, deps, async ({ query, principal }) => {
    if (query.volume !== undefined && !deps.volumes.includes(query.volume)) {
      throw new NotFound(`no volume named ${query.volume}`);
    }
    if (query.database !== undefined) deps.backups.database(query.database);
    if (query.retention) {
      const archiveSubject: ArchiveSubject | undefined =
        query.volume !== undefined
          ? { volume: query.volume }
          : query.kind === 'postgres-dump'
            ? { database: query.database as string }
            : undefined;
      if (archiveSubject) deps.archives.settings(archiveSubject);
      const decision: RetentionDecision = archiveSubject
        ? await deps.archives.retentionPreview(archiveSubject)
        : await deps.backups.retentionPreview(query.database as string, principal?.name ?? 'unknown');
      return {
        status: 200,
        body: {
          ...(query.volume !== undefined ? { volume: query.volume } : { database: query.database }),
          keep: decision.keep.map(({ snapshot, reasons }) => ({ ...snapshot, reasons })),
          delete: decision.delete.map(({ snapshot, reason }) => ({ ...snapshot, reason })),
        },
      };
    }
    const filters = {
      ...(query.status ? { status: query.status } : {}),
      ...(query.since ? { since: query.since } : {}),
      ...(query.until ? { until: query.until } : {}),
    };
    const one = query.volume !== undefined ? volumeSubject(query.volume) : query.database;
    if (one) {
      if (!query.kind) {
        const page = await deps.store.list(one, {
          ...filters,
          limit: query.limit,
          ...(query.cursor ? { cursor: query.cursor } : {}),
        });
        return { status: 200, body: { backups: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) } };
      }
      // A kind shares its partition with the others: read on until the page is full or a few reads are spent.
      const items = [];
      let cursor = query.cursor;
      for (let read = 0; read < PAGE_READS && items.length < query.limit; read += 1) {
        const page = await deps.store.list(one, { ...filters, limit: query.limit, ...(cursor ? { cursor } : {}) });
        items.push(...page.items.filter((record) => record.kind === query.kind));
        cursor = page.cursor;
        if (!cursor) break;
      }
      return { status: 200, body: { backups: items, ...(cursor ? { cursor } : {}) } };
    }
    // Across every database and volume: the newest `limit`, without a cursor (name one to page).
    const subjects = [...deps.databases, ...deps.volumes.map(volumeSubject)];
    const pages = await Promise.all(
      subjects.map((subject) => deps.store.list(subject, { ...filters, limit: query.limit })),
    );
    const merged = pages
      .flatMap((page) => page.items)
      .filter((record) => !query.kind || record.kind === query.kind)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, query.limit);
    // And every source's name, so a client lists a database or volume that has no backup yet.
    return { status: 200, body: { backups: merged, databases: deps.databases, volumes: deps.volumes } };
  });
}

/** The previews alone stand for the backups and archives use cases: the listing only reads. */
export function previewDeps(previews: RetentionPreviews): Pick<ListBackupsDeps, 'backups' | 'archives'> {
  return {
    backups: { retentionPreview: previews.snapshots, database: previews.database },
    archives: { retentionPreview: previews.archives, settings: previews.archiveSettings },
  };
}

function defaultDeps(): ListBackupsDeps {
  const { databases, volumes } = config();
  return {
    tokens: tokens(),
    ...previewDeps(retentionPreviews()),
    store: backupStore(),
    databases: Object.keys(databases),
    volumes: Object.keys(volumes),
  };
}

export const handler = makeHandler(defaultDeps());
