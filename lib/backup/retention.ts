import type { DatabaseConfig } from '../config/schema';

/**
 * Grandfather-father-son retention of backup snapshots, decided from plain data and a clock reading.
 *
 * - Only snapshots Slipway created are ever deleted; any other is kept (`not created by Slipway`).
 * - Only `available` snapshots are candidates and only they fill buckets. `creating` ones are kept
 *   (`still being created`), `failed` ones are deleted (`failed snapshot`), any other status is kept
 *   (`status <status>`), and so is an available one whose creation time does not parse (`creation time unknown`).
 * - Each region is decided on its own: a copy in another region is a separate snapshot.
 * - Buckets are UTC calendar periods: day `2026-11-22`, ISO week `2026-W47` (Monday start, the year the
 *   week's Thursday falls in), month `2026-11`. Per granularity, the newest snapshot of a bucket represents it,
 *   and the newest `daily` / `weekly` / `monthly` buckets that hold a snapshot keep their representative
 *   (`daily 2026-11-22`, `weekly 2026-W47`, `monthly 2026-11`): empty periods use up no slot.
 * - The newest available snapshot of a region is always kept (`newest successful backup`), even under all zeros.
 * - A snapshot dated after `now` (clock skew) is kept (`newer than now`) and fills no bucket, so a wrong date
 *   can never push a real backup out.
 * - Every other available Slipway snapshot is deleted (`beyond retention (daily 7, weekly 4, monthly 12)`).
 *
 * Both lists come newest first, equal times ordered by id; every input snapshot lands in exactly one of them.
 */

export interface SnapshotInfo {
  id: string;
  /** ISO 8601; empty or unreadable while a snapshot is still being created. */
  createdAt: string;
  status: 'available' | 'creating' | 'failed' | (string & {});
  createdBySlipway: boolean;
  region: string;
}

export type RetentionPolicy = DatabaseConfig['retention'];

export interface RetentionDecision {
  keep: Array<{ snapshot: SnapshotInfo; reasons: string[] }>;
  delete: Array<{ snapshot: SnapshotInfo; reason: string }>;
}

type Granularity = 'daily' | 'weekly' | 'monthly';

const DAY_MS = 86_400_000;

/** Milliseconds since the epoch; an unreadable time sorts as newest, since it most likely is still being made. */
function timeOf(snapshot: SnapshotInfo): number {
  const time = Date.parse(snapshot.createdAt);
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

function newestFirst(a: SnapshotInfo, b: SnapshotInfo): number {
  const ta = timeOf(a);
  const tb = timeOf(b);
  if (ta !== tb) return ta > tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function isoWeek(date: Date): string {
  const mondayBased = (date.getUTCDay() + 6) % 7;
  const thursday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - mondayBased + 3));
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

const BUCKETS: Record<Granularity, (date: Date) => string> = {
  daily: (date) => date.toISOString().slice(0, 10),
  weekly: isoWeek,
  monthly: (date) => date.toISOString().slice(0, 7),
};

/** Why each available Slipway snapshot of one region stays; the ones missing from the map go. */
function retainedInRegion(newestFirstCandidates: SnapshotInfo[], policy: RetentionPolicy): Map<SnapshotInfo, string[]> {
  const reasons = new Map<SnapshotInfo, string[]>();
  const add = (snapshot: SnapshotInfo, reason: string) => {
    const list = reasons.get(snapshot);
    if (list) list.push(reason);
    else reasons.set(snapshot, [reason]);
  };
  const newest = newestFirstCandidates[0];
  if (newest) add(newest, 'newest successful backup');
  for (const granularity of ['daily', 'weekly', 'monthly'] as const) {
    const seen = new Set<string>();
    for (const snapshot of newestFirstCandidates) {
      if (seen.size >= policy[granularity]) break;
      const bucket = BUCKETS[granularity](new Date(timeOf(snapshot)));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      add(snapshot, `${granularity} ${bucket}`);
    }
  }
  return reasons;
}

export function planRetention(snapshots: SnapshotInfo[], policy: RetentionPolicy, now: Date): RetentionDecision {
  const keep: RetentionDecision['keep'] = [];
  const remove: RetentionDecision['delete'] = [];
  const candidatesByRegion = new Map<string, SnapshotInfo[]>();
  const nowMs = now.getTime();

  for (const snapshot of [...snapshots].sort(newestFirst)) {
    if (!snapshot.createdBySlipway) keep.push({ snapshot, reasons: ['not created by Slipway'] });
    else if (snapshot.status === 'creating') keep.push({ snapshot, reasons: ['still being created'] });
    else if (snapshot.status === 'failed') remove.push({ snapshot, reason: 'failed snapshot' });
    else if (snapshot.status !== 'available') keep.push({ snapshot, reasons: [`status ${snapshot.status}`] });
    else if (timeOf(snapshot) === Number.POSITIVE_INFINITY) keep.push({ snapshot, reasons: ['creation time unknown'] });
    else if (timeOf(snapshot) > nowMs) keep.push({ snapshot, reasons: ['newer than now'] });
    else {
      const group = candidatesByRegion.get(snapshot.region);
      if (group) group.push(snapshot);
      else candidatesByRegion.set(snapshot.region, [snapshot]);
    }
  }

  const beyond = `beyond retention (daily ${policy.daily}, weekly ${policy.weekly}, monthly ${policy.monthly})`;
  for (const candidates of candidatesByRegion.values()) {
    const retained = retainedInRegion(candidates, policy);
    for (const snapshot of candidates) {
      const reasons = retained.get(snapshot);
      if (reasons) keep.push({ snapshot, reasons });
      else remove.push({ snapshot, reason: beyond });
    }
  }

  keep.sort((a, b) => newestFirst(a.snapshot, b.snapshot));
  remove.sort((a, b) => newestFirst(a.snapshot, b.snapshot));
  return { keep, delete: remove };
}
