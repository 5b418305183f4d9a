import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { planRetention, type RetentionPolicy } from '../backup/retention';
import { InvalidInput, UpstreamFailed } from '../errors';
import { type BackupKind, backupsUnder, type ListedObject, type PrefixBackup } from './prefix-backups';

/**
 * `slipway-worker prune`: the control plane's archive retention (backup/retention.ts, the same GFS plan) applied to the
 * manifests under a prefix, for a host with no control plane. A backup is deleted whole, its data before its manifest,
 * so an interrupted prune never leaves a manifest that names missing data as a usable backup. Data no manifest names
 * (a failed upload's, or one still running) is listed and left, as the control plane leaves it: S3's lifecycle rule
 * aborts abandoned multipart uploads, and an orphan object is the operator's to remove.
 */

const GRANULARITIES = ['daily', 'weekly', 'monthly'] as const;

/**
 * `daily=7,weekly=4,monthly=12`, or the config's spelling `{daily: 7, weekly: 4, monthly: 12}` (YAML flow or JSON).
 * All three are required: a destructive command states its whole policy. Errors name the bad part.
 */
export function parseRetention(text: string): RetentionPolicy {
  const inner = /^\s*\{(.*)\}\s*$/s.exec(text)?.[1] ?? text;
  const policy: Partial<RetentionPolicy> = {};
  for (const part of inner.split(',')) {
    const match = /^\s*(["']?)(\w+)\1\s*[=:]\s*(\S*)\s*$/.exec(part);
    const name = match?.[2] as (typeof GRANULARITIES)[number] | undefined;
    if (!match || !name || !GRANULARITIES.includes(name)) {
      throw new InvalidInput(`"${part.trim()}" is not daily=N, weekly=N or monthly=N`);
    }
    if (policy[name] !== undefined) throw new InvalidInput(`${name} is given twice`);
    const value = match[3] ?? '';
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidInput(`${name}: expected an integer >= 0, received "${value}"`);
    }
    policy[name] = Number(value);
  }
  const missing = GRANULARITIES.filter((name) => policy[name] === undefined);
  if (missing.length > 0) throw new InvalidInput(`${missing.join(', ')} missing: give daily=N,weekly=N,monthly=N`);
  return policy as RetentionPolicy;
}

export interface PrunePlan {
  keep: Array<{ backup: PrefixBackup; reasons: string[] }>;
  delete: Array<{ backup: PrefixBackup; reason: string }>;
}

/** The GFS plan over the prefix's backups: each kind decided on its own, its newest complete backup always kept. */
export function planPrune(backups: PrefixBackup[], policy: RetentionPolicy, now: Date): PrunePlan {
  const byManifest = new Map(backups.map((backup) => [backup.manifestKey, backup]));
  const decision = planRetention(
    backups.map((backup) => ({
      id: backup.manifestKey,
      createdAt: backup.createdAt,
      status: backup.complete ? 'available' : 'failed',
      createdBySlipway: true,
      // The plan keeps each region's newest apart; here each kind's.
      region: backup.kind,
    })),
    policy,
    now,
  );
  const backupOf = (id: string) => byManifest.get(id) as PrefixBackup;
  return {
    keep: decision.keep.map(({ snapshot, reasons }) => ({ backup: backupOf(snapshot.id), reasons })),
    delete: decision.delete.map(({ snapshot, reason }) => {
      const backup = backupOf(snapshot.id);
      return {
        backup,
        reason: backup.complete ? reason : `its manifest names ${dataOf(backup.kind)} that is not there`,
      };
    }),
  };
}

const dataOf = (kind: BackupKind) => (kind === 'volume' ? 'an archive' : 'a dump');

const described = (backup: PrefixBackup) => ({
  manifest: backup.manifestKey,
  kind: backup.kind,
  createdAt: backup.createdAt || null,
});

export interface PruneResult {
  bucket: string;
  prefix: string;
  dryRun: boolean;
  retention: RetentionPolicy;
  kept: Array<ReturnType<typeof described> & { reasons: string[] }>;
  /** What was deleted, or with dryRun what would be. */
  deleted: Array<ReturnType<typeof described> & { reason: string; objects: string[] }>;
  /** Backups the plan let go whose objects could not all be deleted. */
  failed: Array<ReturnType<typeof described> & { reason: string; error: string }>;
  orphans: ListedObject[];
}

async function deleteObjects(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  const { Errors } = await s3.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
  );
  if (Errors && Errors.length > 0) {
    throw new UpstreamFailed(
      Errors.map((error) => `${error.Key}: ${error.Code} ${error.Message ?? ''}`.trim()).join(', '),
    );
  }
}

export async function prune(options: {
  s3: S3Client;
  bucket: string;
  prefix: string;
  retention: RetentionPolicy;
  dryRun: boolean;
  now?: () => Date;
}): Promise<PruneResult> {
  const { s3, bucket, dryRun } = options;
  const { backups, orphans } = await backupsUnder(s3, bucket, options.prefix);
  const plan = planPrune(backups, options.retention, (options.now ?? (() => new Date()))());
  const result: PruneResult = {
    bucket,
    prefix: options.prefix,
    dryRun,
    retention: options.retention,
    kept: plan.keep.map(({ backup, reasons }) => ({ ...described(backup), reasons })),
    deleted: [],
    failed: [],
    orphans,
  };
  for (const { backup, reason } of plan.delete) {
    try {
      if (!dryRun) {
        const data = backup.objects.filter((key) => key !== backup.manifestKey);
        if (data.length > 0) await deleteObjects(s3, bucket, data);
        await deleteObjects(s3, bucket, [backup.manifestKey]);
      }
      result.deleted.push({ ...described(backup), reason, objects: backup.objects });
    } catch (error) {
      result.failed.push({
        ...described(backup),
        reason,
        error: `${(error as Error).name}: ${(error as Error).message}`,
      });
    }
  }
  return result;
}
