import type { DatabaseConfig } from '../config/schema';

/**
 * Which snapshot of a database RDS exports to the backup bucket, and why one cannot be: pure functions of config
 * and the bucket's region, shared by the follow-ups that queue and start exports and by the member account's
 * template, which grants the export in that region only.
 *
 * "The S3 bucket must be in the same AWS Region as the snapshot" (RDS User Guide, "Exporting DB snapshot data to
 * Amazon S3", Overview), so the export is made of the snapshot in the bucket's region: the database's own snapshot
 * when it is there, else its copy to copyToRegion when that is the bucket's region.
 */

type Exported = Pick<DatabaseConfig, 'region' | 'copyToRegion' | 'exportKmsKeyId'>;

/** The prefix under which the backup bucket holds a database's exports: each export under its snapshot's name. */
export const exportsPrefix = (database: string) => `rds-exports/${database}/`;

/** The region whose snapshot of the database is exported; undefined when neither its snapshot nor its copy is in the bucket's. */
export function exportRegion(db: Exported, bucketRegion: string): string | undefined {
  const own = db.region ?? bucketRegion;
  if (own === bucketRegion) return own;
  return db.copyToRegion === bucketRegion ? db.copyToRegion : undefined;
}

/** Whether the snapshot (or copy) in `region` is the one exported: for a copy, only when the database's own is not. */
export function exportsFrom(db: Exported, bucketRegion: string, region: string, isCopy: boolean): boolean {
  const exported = exportRegion(db, bucketRegion);
  if (exported === undefined) return !isCopy;
  return exported === region && isCopy === (exported !== (db.region ?? bucketRegion));
}

/**
 * Why an export of a snapshot in `region` cannot start, in words for its record; undefined when it can. A KMS key
 * is used in its own region only (AWS KMS Developer Guide, "AWS KMS concepts": KMS keys are regional), so RDS
 * encrypts an export with a key of the snapshot's region.
 */
export function exportRefusal(db: Exported, bucketRegion: string, region: string): string | undefined {
  if (region !== bucketRegion) {
    return `the backup bucket is in ${bucketRegion} and RDS exports a snapshot only to a bucket in its own region (${region}); set copyToRegion: ${bucketRegion} to export the copy`;
  }
  const keyRegion = db.exportKmsKeyId?.split(':')[3];
  if (keyRegion !== undefined && keyRegion !== region) {
    return `exportKmsKeyId is a key in ${keyRegion}, and the snapshot exported is in ${region}: RDS encrypts the export with a key of the snapshot's region`;
  }
  return undefined;
}
