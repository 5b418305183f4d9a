import type { Credentials } from '../../lib/auth/token-source';
import { volumeSubject } from '../../lib/backup/records';
import { NotFound } from '../../lib/errors';
import { httpRoute } from '../../lib/http/route-chain';
import * as routes from '../../lib/http/route-specs';
import type { RestoreStore } from '../../lib/store/backups';
import { config } from '../../lib/wiring/config';
import { restoreStore } from '../../lib/wiring/stores';
import { tokens } from '../../lib/wiring/tokens';

export interface ListRestoresDeps {
  tokens: Credentials;
  store: Pick<RestoreStore, 'list'>;
  databases: string[];
  volumes: string[];
}

/** Reads of one page of a partition it takes at most to fill a page of drills (or of restores asked for). */
const PAGE_READS = 5;

/** `GET /v1/restores`: a database's or a volume's restores, newest first; drills alone or restores alone. */
export function makeHandler(deps: ListRestoresDeps) {
  return httpRoute(routes.listRestores, deps, async ({ query }) => {
    if (query.database !== undefined && !deps.databases.includes(query.database)) {
      throw new NotFound(`no database named ${query.database}`);
    }
    if (query.volume !== undefined && !deps.volumes.includes(query.volume)) {
      throw new NotFound(`no volume named ${query.volume}`);
    }
    const subject = query.volume !== undefined ? volumeSubject(query.volume) : (query.database as string);
    if (query.drill === undefined) {
      const page = await deps.store.list(subject, {
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      return { status: 200, body: { restores: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) } };
    }
    // Drills and restores share the partition: read on until the page is full or a few reads are spent.
    const drill = query.drill === 'true';
    const restores = [];
    let cursor = query.cursor;
    for (let read = 0; read < PAGE_READS && restores.length < query.limit; read += 1) {
      const page = await deps.store.list(subject, {
        limit: query.limit - restores.length,
        ...(cursor ? { cursor } : {}),
      });
      restores.push(...page.items.filter((record) => record.drill === drill));
      cursor = page.cursor;
      if (!cursor) break;
    }
    return { status: 200, body: { restores, ...(cursor ? { cursor } : {}) } };
  });
}

function defaultDeps(): ListRestoresDeps {
  const { databases, volumes } = config();
  return { tokens: tokens(), store: restoreStore(), databases: Object.keys(databases), volumes: Object.keys(volumes) };
}

export const handler = makeHandler(defaultDeps());
