import type { TokenSource } from '../../lib/auth/token-source';
import { clients } from '../../lib/aws/clients';
import { listBackupsQuery } from '../../lib/backup/api';
import type { Backups } from '../../lib/backup/backups';
import { NotFound } from '../../lib/errors';
import { httpRoute } from '../../lib/http/route';
import { runtime } from '../../lib/runtime';
import { backups } from '../../lib/runtime/backups';
import { BackupStore } from '../../lib/store/backups';

export interface ListBackupsDeps {
  tokens: TokenSource;
  backups: Pick<Backups, 'retentionPreview' | 'database'>;
  store: Pick<BackupStore, 'list'>;
  databases: string[];
  volumes: string[];
}

/** `GET /v1/backups`: by database or volume, status and time, newest first; `retention=preview` lists what retention would delete. */
export function makeHandler(deps: ListBackupsDeps) {
  return httpRoute({ name: 'listBackups', access: 'read', query: listBackupsQuery }, deps, async ({ query }) => {
    if (query.volume !== undefined && !deps.volumes.includes(query.volume)) {
      throw new NotFound(`no volume named ${query.volume}`);
    }
    if (query.database !== undefined) deps.backups.database(query.database);
    if (query.retention) {
      const decision = await deps.backups.retentionPreview(query.database as string);
      return {
        status: 200,
        body: {
          database: query.database,
          keep: decision.keep.map(({ snapshot, reasons }) => ({ ...snapshot, reasons })),
          delete: decision.delete.map(({ snapshot, reason }) => ({ ...snapshot, reason })),
        },
      };
    }
    const filters = {
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.since ? { since: query.since } : {}),
      ...(query.until ? { until: query.until } : {}),
    };
    const one = query.database ?? query.volume;
    if (one) {
      const page = await deps.store.list(one, { ...filters, ...(query.cursor ? { cursor: query.cursor } : {}) });
      return { status: 200, body: { backups: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) } };
    }
    // Across every database: the newest `limit`, without a cursor (filter by database to page).
    const pages = await Promise.all(deps.databases.map((database) => deps.store.list(database, filters)));
    const merged = pages
      .flatMap((page) => page.items)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, query.limit);
    return { status: 200, body: { backups: merged } };
  });
}

function defaultDeps(): ListBackupsDeps {
  const { config, env, tokens } = runtime();
  return {
    tokens,
    backups: backups(),
    store: new BackupStore(clients.documents(), env.stateTable),
    databases: Object.keys(config.databases),
    volumes: Object.keys(config.volumes),
  };
}

export const handler = makeHandler(defaultDeps());
