import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { UpstreamFailed } from '../errors';

/**
 * The backups the worker wrote under a prefix, read from the bucket alone (no state table): what `prune` and the
 * drills of the command line work from where no control plane records them. A backup is its manifest: the worker
 * uploads it last, once the archive or dump is whole (volume/backup.ts, postgres/dump.ts), so a manifest beside its
 * data is a complete backup, and data with no manifest is a failed run's or a running one's.
 */

export type BackupKind = 'volume' | 'postgres';

export interface ListedObject {
  key: string;
  /** ISO 8601, as S3 lists it. */
  lastModified: string;
}

export interface PrefixBackup {
  kind: BackupKind;
  manifestKey: string;
  /** From the key's timestamp (the backup's own clock); empty when the name carries none. */
  createdAt: string;
  /** Whether the archive or dump the manifest describes is there beside it. */
  complete: boolean;
  /** Every object of the backup, its data first and its manifest last: what pruning it deletes. */
  objects: string[];
}

export interface PrefixListing {
  /** Newest first; equal times ordered by manifest key. */
  backups: PrefixBackup[];
  /** Archives and dumps no manifest names: a failed upload's leftover, or one still being written. */
  orphans: ListedObject[];
}

// The names volumeKeys (volume/keys.ts) and backupPostgres (postgres/dump.ts) give a backup's objects.
const LAYOUT: Record<BackupKind, { manifest: string; data: readonly string[] }> = {
  volume: { manifest: '.manifest.ndjson', data: ['.tar.gz', '.tar.zst'] },
  postgres: { manifest: '.manifest.json', data: ['.dump'] },
};
const KINDS = Object.keys(LAYOUT) as BackupKind[];

/** 20261122T030000Z → 2026-11-22T03:00:00.000Z; '' for any other name. */
function timeOfName(base: string): string {
  const match = /(?:^|\/)(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(base);
  if (!match) return '';
  const [, year, month, day, hour, minute, second] = match;
  const time = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  return Number.isNaN(time.getTime()) ? '' : time.toISOString();
}

const stripSuffix = (key: string, suffix: string) => (key.endsWith(suffix) ? key.slice(0, -suffix.length) : undefined);

/** The backups among a prefix's objects, and the data objects no manifest names. */
export function backupsAmong(objects: ListedObject[]): PrefixListing {
  const keys = new Set(objects.map((object) => object.key));
  const named = new Set<string>();
  const backups: PrefixBackup[] = [];
  for (const { key } of objects) {
    for (const kind of KINDS) {
      const base = stripSuffix(key, LAYOUT[kind].manifest);
      if (base === undefined) continue;
      const data = LAYOUT[kind].data.map((suffix) => `${base}${suffix}`).filter((dataKey) => keys.has(dataKey));
      for (const dataKey of data) named.add(dataKey);
      backups.push({
        kind,
        manifestKey: key,
        createdAt: timeOfName(base),
        complete: data.length > 0,
        objects: [...data, key],
      });
    }
  }
  const orphans = objects.filter(
    ({ key }) => !named.has(key) && KINDS.some((kind) => LAYOUT[kind].data.some((suffix) => key.endsWith(suffix))),
  );
  backups.sort((a, b) =>
    a.createdAt !== b.createdAt ? (a.createdAt > b.createdAt ? -1 : 1) : a.manifestKey < b.manifestKey ? -1 : 1,
  );
  return { backups, orphans };
}

/** The newest complete backup of a kind, by the time in its name; a name without one never counts as newest. */
export function newestComplete(backups: PrefixBackup[], kind: BackupKind): PrefixBackup | undefined {
  return backups.find((backup) => backup.kind === kind && backup.complete && backup.createdAt !== '');
}

/** `volumes/shop` and `volumes/shop/` both list `volumes/shop/…`, never `volumes/shop-old/…`. */
export const listingPrefix = (prefix: string) => {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
};

/** Every object under the prefix, every page. */
export async function listPrefix(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: listingPrefix(prefix),
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
    } catch (error) {
      throw new UpstreamFailed(`could not list s3://${bucket}/${listingPrefix(prefix)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    for (const item of page.Contents ?? []) {
      if (item.Key) objects.push({ key: item.Key, lastModified: item.LastModified?.toISOString() ?? '' });
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

/** The backups under a prefix, as the bucket has them now. */
export async function backupsUnder(s3: S3Client, bucket: string, prefix: string): Promise<PrefixListing> {
  return backupsAmong(await listPrefix(s3, bucket, prefix));
}
