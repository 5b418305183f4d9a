import { createHash } from 'node:crypto';

/**
 * RDS identifiers Slipway makes up from a database's name. RDS refuses an identifier that does not
 * start with a letter, has a character other than a letter, digit or hyphen, ends with a hyphen or
 * holds two hyphens in a row (CreateDBSnapshot, CreateDBClusterSnapshot, StartExportTask: RDS API
 * Reference); the config schema keeps database names within those rules.
 */

const HASH_LENGTH = 8;

/** `yyyymmddhhmm` in UTC: sortable, and as RDS identifiers allow. */
export function minuteStamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 12);
}

const SNAPSHOT_NAME = /^slipway-([a-z][a-z0-9-]*)-(\d{12})$/;

/** `slipway-<database>-<yyyymmddhhmm>`: names its database, and sorts by time. */
export function snapshotName(database: string, at: Date): string {
  return `slipway-${database}-${minuteStamp(at)}`;
}

export function databaseOfSnapshot(identifier: string): string | undefined {
  return SNAPSHOT_NAME.exec(identifier)?.[1];
}

/**
 * `head` + `tail`, or, when longer than `max`, `head` cut short, a hash of all of it, then `tail`
 * whole: a long name never loses the time stamp that tells two identifiers apart.
 */
export function fitIdentifier(head: string, tail: string, max: number): string {
  const whole = `${head}${tail}`;
  if (whole.length <= max) return whole;
  const hash = createHash('sha256').update(whole).digest('hex').slice(0, HASH_LENGTH);
  const room = max - tail.length - HASH_LENGTH - 1;
  const cut = head.slice(0, Math.max(room, 1)).replace(/-+$/, '');
  return `${cut}-${hash}${tail}`;
}

// The API reference gives no length for an export task's identifier; Slipway keeps them within 60.
const EXPORT_ID_MAX = 60;
const STAMP = /-\d{12}$/;

/** The export of a snapshot: `<snapshot>-export`, shortened with a hash when the name is long. */
export function exportTaskIdentifier(snapshotIdentifier: string): string {
  const stamp = STAMP.exec(snapshotIdentifier)?.[0] ?? '';
  return fitIdentifier(
    snapshotIdentifier.slice(0, snapshotIdentifier.length - stamp.length),
    `${stamp}-export`,
    EXPORT_ID_MAX,
  );
}

// At most 61 characters, so that an Aurora scratch cluster's writer (`<target>-1`) still fits RDS's 63.
const DRILL_ID_MAX = 61;

/** A drill's scratch instance or cluster: `slipway-drill-<database>-<yyyymmddhhmm>` in UTC. */
export function drillIdentifier(database: string, at: Date): string {
  return fitIdentifier(`slipway-drill-${database}`, `-${minuteStamp(at)}`, DRILL_ID_MAX);
}

/**
 * What a restore over the API must name its target: `<source>-restore-…`, lowercased as RDS stores
 * identifiers. With drills' `slipway-drill-…`, the only names Slipway's roles may create and tag
 * (serverless.yml, restoreIntoTargets), so a restore never touches a database it did not make.
 */
export function restoreTargetPrefix(sourceIdentifier: string): string {
  return `${sourceIdentifier.toLowerCase()}-restore-`;
}
