import { exportRefusal, exportRegion, exportsFrom } from '../../../lib/backup/export-places';

/**
 * Which snapshot of a database is exported to the backup bucket (lib/backup/export-places.ts): the one in the
 * bucket's region, since "the S3 bucket must be in the same AWS Region as the snapshot" (RDS User Guide, "Exporting
 * DB snapshot data to Amazon S3").
 */

const BUCKET = 'us-east-1';
const KEY_US = 'arn:aws:kms:us-east-1:222222222222:key/3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b';

describe('the snapshot exported', () => {
  it.each([
    ['in the bucket’s region by default', {}, BUCKET, [true, false]],
    [
      'in the bucket’s region by name, copied elsewhere',
      { region: BUCKET, copyToRegion: 'eu-west-1' },
      BUCKET,
      [true, false],
    ],
    ['elsewhere, copied to the bucket’s region', { region: 'eu-west-1', copyToRegion: BUCKET }, BUCKET, [false, true]],
    [
      'elsewhere, copied elsewhere too',
      { region: 'eu-west-1', copyToRegion: 'eu-central-1' },
      undefined,
      [true, false],
    ],
  ] as const)('of a database %s', (_what, db, region, [own, copy]) => {
    expect(exportRegion(db, BUCKET)).toBe(region);
    const ownRegion = 'region' in db ? db.region : BUCKET;
    expect(exportsFrom(db, BUCKET, ownRegion, false)).toBe(own);
    if ('copyToRegion' in db) expect(exportsFrom(db, BUCKET, db.copyToRegion, true)).toBe(copy);
  });
});

describe('why an export cannot start', () => {
  it('is nothing for a snapshot in the bucket’s region with a key there', () => {
    expect(exportRefusal({ exportKmsKeyId: KEY_US }, BUCKET, BUCKET)).toBeUndefined();
  });

  it('names both regions for a snapshot away from the bucket', () => {
    expect(exportRefusal({ region: 'eu-west-1' }, BUCKET, 'eu-west-1')).toBe(
      'the backup bucket is in us-east-1 and RDS exports a snapshot only to a bucket in its own region (eu-west-1); set copyToRegion: us-east-1 to export the copy',
    );
  });

  it('names the key’s region when it is not the snapshot’s', () => {
    const key = KEY_US.replace('us-east-1', 'eu-west-1');
    expect(exportRefusal({ exportKmsKeyId: key }, BUCKET, BUCKET)).toBe(
      "exportKmsKeyId is a key in eu-west-1, and the snapshot exported is in us-east-1: RDS encrypts the export with a key of the snapshot's region",
    );
  });
});
