import type { Operation, Place } from '../aws/account-credentials';
import { type EventOrigin, eventFromElsewhere, eventSourceOf, type Home } from '../config/places';
import type { SlipwayConfig } from '../config/schema';

/**
 * Where a database's RDS calls go (its account and region, or the control plane's own), the session each
 * backup or restore acts there as, and whether an RDS event comes from there: pure functions of config and
 * plain data, shared by the backups and restores use cases.
 */

type Databases = Pick<SlipwayConfig, 'databases'>;

const placedDatabase = (config: Databases, database: string) =>
  Object.hasOwn(config.databases, database) ? config.databases[database] : undefined;

/** The region a database is in: its own, else the control plane's. */
export function databaseRegion(config: Databases, database: string, home: string): string {
  return placedDatabase(config, database)?.region ?? home;
}

/**
 * Where a database's RDS resources in `region` are (its snapshots, their copies, its restores): in its account,
 * the control plane's once config no longer names it.
 */
export function databasePlace(config: Databases, database: string, region: string): Place {
  return { account: placedDatabase(config, database)?.account, region };
}

/** Who a backup acts for: the principal of a request (`api:<principal>`), else Slipway itself (a schedule, retention). */
export function backupPrincipal(trigger: string): string {
  return trigger.startsWith('api:') ? trigger.slice('api:'.length) : 'slipway';
}

/** A backup's session: named after it, with who asked for it. */
export function backupOperation(record: { id: string; trigger: string }): Operation {
  return { id: record.id, principal: backupPrincipal(record.trigger) };
}

/** A retention preview's session: it reads a database's snapshots for who asked. */
export function previewOperation(database: string, principal: string): Operation {
  return { id: `retention-preview-${database}`, principal };
}

/** A restore's (or a drill's) session: named after it, with who asked for it. */
export function restoreOperation(record: { id: string; requestedBy: string }): Operation {
  return { id: record.id, principal: record.requestedBy };
}

/** RDS where a backup's snapshot, copy or export is (its database's account, its own region), as the backup's session. */
export function rdsOfBackup<T>(
  ctx: { deps: { config: Databases; rdsFor: (place: Place, operation: Operation) => T } },
  record: { id: string; trigger: string; database: string; region: string },
): T {
  return ctx.deps.rdsFor(databasePlace(ctx.deps.config, record.database, record.region), backupOperation(record));
}

/** Metric counting RDS events ignored for coming from another account or region than the database they name. */
export const RDS_EVENTS_FROM_ELSEWHERE = 'RdsEventsFromOtherAccounts';

/**
 * Why an RDS event naming something of `database` in `regions` is not taken: it comes from another account
 * or region than the database's (logged and counted); undefined when it comes from there.
 */
export function rdsEventFromElsewhere(
  config: Pick<SlipwayConfig, 'accounts' | 'databases'>,
  event: EventOrigin,
  database: string,
  regions: string[],
  home: Home,
): string | undefined {
  const db = placedDatabase(config, database);
  const source = eventSourceOf(config, db ?? {}, home);
  return eventFromElsewhere(
    event,
    {
      service: 'RDS',
      thing: 'database',
      name: `database ${database}`,
      account: source.account,
      regions,
      keys: { database },
    },
    RDS_EVENTS_FROM_ELSEWHERE,
  );
}
