import { InvalidInput } from '../../../lib/errors';
import { backupTimestamp } from '../../../lib/worker/postgres';
import { keyUnder } from '../../../lib/worker/postgres/manifest';
import { backupsAmong, type ListedObject, listingPrefix, newestComplete } from '../../../lib/worker/prefix-backups';
import { parseRetention, planPrune } from '../../../lib/worker/prune';
import { volumeKeys } from '../../../lib/worker/volume';

const NOW = new Date('2026-11-23T04:00:00.000Z');
const listed = (...keys: string[]): ListedObject[] =>
  keys.map((key) => ({ key, lastModified: '2026-11-23T03:00:00.000Z' }));

/** A whole volume backup as backupVolume names its objects. */
const volume = (at: string, prefix = 'volumes/uploads') => {
  const { archiveKey, manifestKey } = volumeKeys(prefix, new Date(at), 'gzip');
  return [archiveKey, manifestKey];
};
/** A whole dump as backupPostgres names its objects. */
const dump = (at: string, prefix = 'dumps/shop') => {
  const stamp = backupTimestamp(new Date(at));
  return [keyUnder(prefix, `${stamp}.dump`), keyUnder(prefix, `${stamp}.manifest.json`)];
};

describe('parseRetention', () => {
  it.each([
    ['the command-line spelling', 'daily=7,weekly=4,monthly=12'],
    ['spaces and another order', ' monthly=12, daily=7 ,weekly=4'],
    ["the config's spelling as YAML flow", '{daily: 7, weekly: 4, monthly: 12}'],
    ["the config's spelling as JSON", '{"daily":7,"weekly":4,"monthly":12}'],
  ])('given %s, when parsed, then it is the policy', (_label, text) => {
    expect(parseRetention(text)).toEqual({ daily: 7, weekly: 4, monthly: 12 });
  });

  it.each([
    [
      'an unknown granularity',
      'daily=7,hourly=3,weekly=4,monthly=1',
      '"hourly=3" is not daily=N, weekly=N or monthly=N',
    ],
    ['a part without a value sign', 'daily=7,weekly4,monthly=1', '"weekly4" is not daily=N, weekly=N or monthly=N'],
    ['a negative count', 'daily=7,weekly=-1,monthly=1', 'weekly: expected an integer >= 0, received "-1"'],
    ['a fraction', 'daily=1.5,weekly=4,monthly=1', 'daily: expected an integer >= 0, received "1.5"'],
    ['an empty value', 'daily=,weekly=4,monthly=1', 'daily: expected an integer >= 0, received ""'],
    ['a granularity twice', 'daily=7,daily=8,weekly=4,monthly=1', 'daily is given twice'],
    ['a missing granularity', 'daily=7', 'weekly, monthly missing: give daily=N,weekly=N,monthly=N'],
    ['nothing', '', '"" is not daily=N, weekly=N or monthly=N'],
  ])('given %s, when parsed, then the error names the bad part', (_label, text, message) => {
    expect(() => parseRetention(text)).toThrow(new InvalidInput(message));
  });
});

describe('backupsAmong', () => {
  it('given what volume and dump backups write, when listed, then each manifest is a backup with its objects, newest first', () => {
    // given
    const objects = listed(
      ...volume('2026-11-21T03:00:00Z'),
      ...volume('2026-11-22T03:00:00Z'),
      ...dump('2026-11-22T04:00:00Z'),
      'volumes/uploads/notes.txt',
    );

    // when
    const { backups, orphans } = backupsAmong(objects);

    // then
    expect(backups).toEqual([
      {
        kind: 'postgres',
        manifestKey: 'dumps/shop/20261122T040000Z.manifest.json',
        createdAt: '2026-11-22T04:00:00.000Z',
        complete: true,
        objects: ['dumps/shop/20261122T040000Z.dump', 'dumps/shop/20261122T040000Z.manifest.json'],
      },
      {
        kind: 'volume',
        manifestKey: 'volumes/uploads/20261122T030000Z.manifest.ndjson',
        createdAt: '2026-11-22T03:00:00.000Z',
        complete: true,
        objects: ['volumes/uploads/20261122T030000Z.tar.gz', 'volumes/uploads/20261122T030000Z.manifest.ndjson'],
      },
      expect.objectContaining({ manifestKey: 'volumes/uploads/20261121T030000Z.manifest.ndjson', complete: true }),
    ]);
    expect(orphans).toEqual([]);
  });

  it('given an archive without a manifest and a manifest without its archive, then one is an orphan and the other incomplete', () => {
    // given: a run that failed before its manifest, and a backup whose archive was removed
    const [archive] = volume('2026-11-22T03:00:00Z');
    const [, manifest] = volume('2026-11-21T03:00:00Z');
    const objects = listed(archive as string, manifest as string);

    // when
    const { backups, orphans } = backupsAmong(objects);

    // then
    expect(orphans.map((object) => object.key)).toEqual([archive]);
    expect(backups).toEqual([expect.objectContaining({ manifestKey: manifest, complete: false, objects: [manifest] })]);
  });

  it('given the control plane’s layout, a folder per backup, then its backups are found too', () => {
    const objects = listed(...volume('2026-11-22T03:00:00Z', 'volumes/uploads/bkp-1'));
    expect(backupsAmong(objects).backups).toEqual([
      expect.objectContaining({
        manifestKey: 'volumes/uploads/bkp-1/20261122T030000Z.manifest.ndjson',
        createdAt: '2026-11-22T03:00:00.000Z',
      }),
    ]);
  });

  it('given a manifest whose name has no timestamp, then its time is unknown and it is never the newest', () => {
    const objects = listed('volumes/uploads/by-hand.tar.gz', 'volumes/uploads/by-hand.manifest.ndjson');
    const { backups } = backupsAmong(objects);
    expect(backups).toEqual([expect.objectContaining({ createdAt: '', complete: true })]);
    expect(newestComplete(backups, 'volume')).toBeUndefined();
  });
});

describe('newestComplete', () => {
  it('given newer incomplete backups and another kind, when asked for a volume, then it is the newest whole volume backup', () => {
    // given
    const [, newestManifestOnly] = volume('2026-11-23T03:00:00Z');
    const objects = listed(
      ...volume('2026-11-21T03:00:00Z'),
      ...volume('2026-11-22T03:00:00Z'),
      newestManifestOnly as string,
      ...dump('2026-11-23T03:30:00Z'),
    );

    // when
    const newest = newestComplete(backupsAmong(objects).backups, 'volume');

    // then
    expect(newest?.manifestKey).toBe('volumes/uploads/20261122T030000Z.manifest.ndjson');
    expect(newestComplete(backupsAmong(objects).backups, 'postgres')?.manifestKey).toBe(
      'dumps/shop/20261123T033000Z.manifest.json',
    );
  });
});

describe('listingPrefix', () => {
  it.each([
    ['volumes/shop', 'volumes/shop/'],
    ['/volumes/shop/', 'volumes/shop/'],
    ['', ''],
  ])('lists %j as %j, so a sibling prefix is never taken in', (prefix, expected) => {
    expect(listingPrefix(prefix)).toBe(expected);
  });
});

describe('planPrune', () => {
  const days = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => new Date(Date.UTC(2026, 10, from - i, 3)).toISOString());

  it('given daily backups for 40 days, when planned with daily=7 weekly=4 monthly=2, then the GFS plan keeps its picks and deletes the rest', () => {
    // given: 2026-11-23 back to 2026-10-15
    const objects = listed(...days(23, 40).flatMap((at) => volume(at)));

    // when
    const plan = planPrune(backupsAmong(objects).backups, { daily: 7, weekly: 4, monthly: 2 }, NOW);

    // then: seven days, the newest of four ISO weeks, the newest of two months
    const kept = plan.keep.map(({ backup, reasons }) => [backup.createdAt.slice(0, 10), reasons]);
    expect(kept).toEqual([
      ['2026-11-23', ['newest successful backup', 'daily 2026-11-23', 'weekly 2026-W48', 'monthly 2026-11']],
      ['2026-11-22', ['daily 2026-11-22', 'weekly 2026-W47']],
      ['2026-11-21', ['daily 2026-11-21']],
      ['2026-11-20', ['daily 2026-11-20']],
      ['2026-11-19', ['daily 2026-11-19']],
      ['2026-11-18', ['daily 2026-11-18']],
      ['2026-11-17', ['daily 2026-11-17']],
      ['2026-11-15', ['weekly 2026-W46']],
      ['2026-11-08', ['weekly 2026-W45']],
      ['2026-10-31', ['monthly 2026-10']],
    ]);
    expect(plan.delete).toHaveLength(30);
    expect(plan.delete[0]).toEqual({
      backup: expect.objectContaining({
        createdAt: '2026-11-16T03:00:00.000Z',
        objects: ['volumes/uploads/20261116T030000Z.tar.gz', 'volumes/uploads/20261116T030000Z.manifest.ndjson'],
      }),
      reason: 'beyond retention (daily 7, weekly 4, monthly 2)',
    });
  });

  it('given only backups older than every window, when planned with all zeros, then the newest complete one of each kind is kept', () => {
    // given: a volume backup and a dump from last year, and an older volume backup
    const objects = listed(
      ...volume('2025-01-02T03:00:00Z'),
      ...volume('2025-01-01T03:00:00Z'),
      ...dump('2025-01-01T04:00:00Z'),
    );

    // when
    const plan = planPrune(backupsAmong(objects).backups, { daily: 0, weekly: 0, monthly: 0 }, NOW);

    // then
    expect(plan.keep.map(({ backup, reasons }) => [backup.manifestKey, reasons])).toEqual([
      ['volumes/uploads/20250102T030000Z.manifest.ndjson', ['newest successful backup']],
      ['dumps/shop/20250101T040000Z.manifest.json', ['newest successful backup']],
    ]);
    expect(plan.delete.map(({ backup }) => backup.manifestKey)).toEqual([
      'volumes/uploads/20250101T030000Z.manifest.ndjson',
    ]);
  });

  it('given a newer manifest whose archive is missing, then it is deleted as incomplete and the older whole one is kept as newest', () => {
    // given
    const [, manifestOnly] = volume('2026-11-23T03:00:00Z');
    const objects = listed(manifestOnly as string, ...volume('2026-11-01T03:00:00Z'));

    // when
    const plan = planPrune(backupsAmong(objects).backups, { daily: 0, weekly: 0, monthly: 0 }, NOW);

    // then
    expect(plan.delete).toEqual([
      {
        backup: expect.objectContaining({ manifestKey: manifestOnly, objects: [manifestOnly] }),
        reason: 'its manifest names an archive that is not there',
      },
    ]);
    expect(plan.keep).toEqual([
      {
        backup: expect.objectContaining({ createdAt: '2026-11-01T03:00:00.000Z' }),
        reasons: ['newest successful backup'],
      },
    ]);
  });

  it('given a backup dated after now and one whose name has no time, then both are kept and fill no slot', () => {
    const objects = listed(
      ...volume('2026-11-24T03:00:00Z'),
      'volumes/uploads/by-hand.tar.gz',
      'volumes/uploads/by-hand.manifest.ndjson',
      ...volume('2026-11-22T03:00:00Z'),
    );
    const plan = planPrune(backupsAmong(objects).backups, { daily: 1, weekly: 0, monthly: 0 }, NOW);
    expect(plan.keep.map(({ backup, reasons }) => [backup.manifestKey, reasons])).toEqual([
      ['volumes/uploads/by-hand.manifest.ndjson', ['creation time unknown']],
      ['volumes/uploads/20261124T030000Z.manifest.ndjson', ['newer than now']],
      ['volumes/uploads/20261122T030000Z.manifest.ndjson', ['newest successful backup', 'daily 2026-11-22']],
    ]);
    expect(plan.delete).toEqual([]);
  });
});
