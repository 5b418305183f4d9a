import type * as z from 'zod';
import { createRestoreBody, listBackupsQuery, takeBackupBody } from '../../../lib/backup/schemas';

const BACKUP_ID = 'bkp-3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';
const TARGET_PATH_RULE =
  'expected a relative directory inside the volume (segments of letters, digits, ".", "-" and "_"; no "..", no leading "/")';
const PG_NAME_RULE = 'expected a database name: lowercase letters, digits and _, at most 63';

/** The issues of a refused parse as {path, message}; fails the test when the input was accepted. */
function issuesOf(result: z.core.util.SafeParseResult<unknown>): Array<{ path: PropertyKey[]; message: string }> {
  if (result.success)
    throw new Error(`expected the input to be refused, but it parsed as ${JSON.stringify(result.data)}`);
  return result.error.issues.map(({ path, message }) => ({ path, message }));
}

describe('takeBackupBody', () => {
  it.each([
    ['an RDS snapshot of a database', { database: 'shop-db' }],
    ['an explicit RDS snapshot', { database: 'shop-db', kind: 'rds-snapshot' }],
    ['a dump of a database', { database: 'shop-db', kind: 'postgres-dump' }],
    ['an archive of a volume', { volume: 'shop-uploads' }],
  ])('given %s, when the body is parsed, then it is accepted as sent', (_label, body) => {
    // when
    const result = takeBackupBody.safeParse(body);

    // then
    expect(result.success).toBe(true);
    expect(result.data).toEqual(body);
  });

  it.each([
    [
      'neither database nor volume',
      {},
      [{ path: ['database'], message: 'is required: give exactly one of database or volume' }],
    ],
    [
      'a kind and nothing to back up',
      { kind: 'postgres-dump' },
      [{ path: ['database'], message: 'is required: give exactly one of database or volume' }],
    ],
    [
      'both database and volume',
      { database: 'shop-db', volume: 'shop-uploads' },
      [{ path: ['volume'], message: 'give exactly one of database or volume, not both' }],
    ],
    [
      'a volume with a kind',
      { volume: 'shop-uploads', kind: 'postgres-dump' },
      [{ path: ['kind'], message: 'applies to a database only; a volume is archived' }],
    ],
    [
      'a database with a kind that is not a database backup',
      { database: 'shop-db', kind: 'volume-archive' },
      [{ path: ['kind'], message: 'expected rds-snapshot or postgres-dump' }],
    ],
    [
      'a volume name in capitals',
      { volume: 'Shop-Uploads' },
      [
        {
          path: ['volume'],
          message: 'expected a volume name: lowercase letters, digits and dashes, starting with a letter',
        },
      ],
    ],
    [
      'an unknown field',
      { database: 'shop-db', targetPath: 'x' },
      [{ path: [], message: 'unknown field(s) targetPath' }],
    ],
  ])('given %s, when the body is parsed, then it is refused with exactly these issues', (_label, body, expected) => {
    // when
    const issues = issuesOf(takeBackupBody.safeParse(body));

    // then
    expect(issues).toEqual(expected);
  });
});

describe('createRestoreBody', () => {
  describe('without kind: an RDS restore, as before kinds existed', () => {
    it('given a backup id and a target identifier, when the body is parsed, then it is an rds restore', () => {
      // when
      const result = createRestoreBody.safeParse({
        database: 'shop-db',
        backupId: BACKUP_ID,
        targetIdentifier: 'shop-restored',
      });

      // then
      expect(result.data).toEqual({
        kind: 'rds',
        database: 'shop-db',
        backupId: BACKUP_ID,
        targetIdentifier: 'shop-restored',
      });
    });

    it.each([
      [
        'neither backupId nor pointInTime',
        { database: 'shop-db', targetIdentifier: 'shop-restored' },
        [{ path: ['backupId'], message: 'is required: give exactly one of backupId or pointInTime' }],
      ],
      [
        'both backupId and pointInTime',
        { database: 'shop-db', backupId: BACKUP_ID, pointInTime: 'latest', targetIdentifier: 'shop-restored' },
        [{ path: ['pointInTime'], message: 'give exactly one of backupId or pointInTime, not both' }],
      ],
      [
        'no target identifier',
        { database: 'shop-db', pointInTime: 'latest' },
        [{ path: ['targetIdentifier'], message: 'is required: expected a new RDS identifier' }],
      ],
      [
        'a volume field',
        { database: 'shop-db', pointInTime: 'latest', targetIdentifier: 'shop-restored', targetPath: 'restored' },
        [{ path: [], message: 'unknown field(s) targetPath' }],
      ],
    ])('given %s, when the body is parsed, then the old rules refuse it', (_label, body, expected) => {
      // when
      const issues = issuesOf(createRestoreBody.safeParse(body));

      // then
      expect(issues).toEqual(expected);
    });
  });

  describe('kind volume', () => {
    it('given only the volume, when the body is parsed, then force defaults to false', () => {
      // when
      const result = createRestoreBody.safeParse({ kind: 'volume', volume: 'shop-uploads' });

      // then
      expect(result.data).toEqual({ kind: 'volume', volume: 'shop-uploads', force: false });
    });

    it('given a backup, a target path and force, when the body is parsed, then they are kept', () => {
      // when
      const result = createRestoreBody.safeParse({
        kind: 'volume',
        volume: 'shop-uploads',
        backupId: BACKUP_ID,
        targetPath: 'restored/2026-11-23',
        force: true,
      });

      // then
      expect(result.data).toEqual({
        kind: 'volume',
        volume: 'shop-uploads',
        backupId: BACKUP_ID,
        targetPath: 'restored/2026-11-23',
        force: true,
      });
    });

    it.each([
      ['a parent escape', '../x'],
      ['an absolute path', '/abs'],
      ['a parent step in the middle', 'a/../b'],
      ['the volume root', '.'],
      ['an empty path', ''],
      ['an empty segment', 'restored//today'],
      ['a trailing slash', 'restored/'],
      ['a space', 'restored today'],
    ])('given %s as targetPath, when the body is parsed, then it is refused at targetPath', (_label, targetPath) => {
      // when
      const issues = issuesOf(createRestoreBody.safeParse({ kind: 'volume', volume: 'shop-uploads', targetPath }));

      // then
      expect(issues).toEqual([{ path: ['targetPath'], message: TARGET_PATH_RULE }]);
    });

    it.each([
      ['no volume', { kind: 'volume' }, [{ path: ['volume'], message: 'is required: expected a volume name' }]],
      [
        'force as a string',
        { kind: 'volume', volume: 'shop-uploads', force: 'yes' },
        [{ path: ['force'], message: 'expected true or false' }],
      ],
      [
        'a backup id that is not one',
        { kind: 'volume', volume: 'shop-uploads', backupId: 'snap-1' },
        [{ path: ['backupId'], message: 'expected a backup id such as bkp-3f2a…' }],
      ],
      [
        'an RDS field',
        { kind: 'volume', volume: 'shop-uploads', targetIdentifier: 'shop-restored' },
        [{ path: [], message: 'unknown field(s) targetIdentifier' }],
      ],
    ])('given %s, when the body is parsed, then it is refused with exactly these issues', (_label, body, expected) => {
      // when
      const issues = issuesOf(createRestoreBody.safeParse(body));

      // then
      expect(issues).toEqual(expected);
    });
  });

  describe('kind postgres-dump', () => {
    it('given a database and a target database, when the body is parsed, then force defaults to false', () => {
      // when
      const result = createRestoreBody.safeParse({
        kind: 'postgres-dump',
        database: 'shop-db',
        backupId: BACKUP_ID,
        targetDatabase: 'shop_restored_2026',
      });

      // then
      expect(result.data).toEqual({
        kind: 'postgres-dump',
        database: 'shop-db',
        backupId: BACKUP_ID,
        targetDatabase: 'shop_restored_2026',
        force: false,
      });
    });

    it.each([
      ['starting with an underscore', '_scratch'],
      ['of 63 characters', `s${'a'.repeat(62)}`],
    ])('given a target database %s, when the body is parsed, then it is accepted', (_label, targetDatabase) => {
      // when
      const result = createRestoreBody.safeParse({ kind: 'postgres-dump', database: 'shop-db', targetDatabase });

      // then
      expect(result.success).toBe(true);
    });

    it.each([
      ['with capitals', 'Shop_Restored'],
      ['with a dash', 'shop-restored'],
      ['starting with a digit', '2026_shop'],
      ['of 64 characters', `s${'a'.repeat(63)}`],
      ['empty', ''],
    ])(
      'given a target database %s, when the body is parsed, then it is refused at targetDatabase',
      (_label, targetDatabase) => {
        // when
        const issues = issuesOf(
          createRestoreBody.safeParse({ kind: 'postgres-dump', database: 'shop-db', targetDatabase }),
        );

        // then
        expect(issues).toEqual([{ path: ['targetDatabase'], message: PG_NAME_RULE }]);
      },
    );

    it.each([
      [
        'no target database',
        { kind: 'postgres-dump', database: 'shop-db' },
        [{ path: ['targetDatabase'], message: 'is required: expected a database name' }],
      ],
      [
        'a volume field',
        { kind: 'postgres-dump', database: 'shop-db', targetDatabase: 'shop_restored', targetPath: 'x' },
        [{ path: [], message: 'unknown field(s) targetPath' }],
      ],
    ])('given %s, when the body is parsed, then it is refused with exactly these issues', (_label, body, expected) => {
      // when
      const issues = issuesOf(createRestoreBody.safeParse(body));

      // then
      expect(issues).toEqual(expected);
    });
  });

  it.each(['snapshot', 'rds-snapshot', 'VOLUME'])(
    'given kind %s, when the body is parsed, then the issue at kind names the three kinds',
    (kind) => {
      // when
      const issues = issuesOf(createRestoreBody.safeParse({ kind, database: 'shop-db' }));

      // then
      expect(issues).toEqual([{ path: ['kind'], message: 'expected kind rds, volume or postgres-dump' }]);
    },
  );
});

describe('listBackupsQuery', () => {
  it.each([['volume-archive'], ['postgres-dump'], ['rds-snapshot']])(
    'given kind=%s, when the query is parsed, then it filters by that kind with the default limit',
    (kind) => {
      // when
      const result = listBackupsQuery.safeParse({ kind });

      // then
      expect(result.data).toEqual({ kind, limit: 50 });
    },
  );

  it('given an unknown kind, when the query is parsed, then the issue lists every kind', () => {
    // when
    const issues = issuesOf(listBackupsQuery.safeParse({ kind: 'tarball' }));

    // then
    expect(issues).toEqual([
      {
        path: ['kind'],
        message:
          'expected one of rds-snapshot, rds-cluster-snapshot, snapshot-copy, snapshot-export, volume-archive, postgres-dump',
      },
    ]);
  });

  it.each([
    ['a database', { retention: 'preview', database: 'shop-db' }],
    ['a volume', { retention: 'preview', volume: 'shop-uploads', kind: 'volume-archive' }],
  ])('given retention=preview with %s, when the query is parsed, then it is accepted', (_label, query) => {
    // when
    const result = listBackupsQuery.safeParse(query);

    // then
    expect(result.data).toEqual({ ...query, limit: 50 });
  });

  it('given retention=preview alone, when the query is parsed, then database is required (or volume)', () => {
    // when
    const issues = issuesOf(listBackupsQuery.safeParse({ retention: 'preview', kind: 'postgres-dump' }));

    // then
    expect(issues).toEqual([{ path: ['database'], message: 'is required with retention=preview (or volume)' }]);
  });

  it('given both a database and a volume, when the query is parsed, then the volume is refused', () => {
    // when
    const issues = issuesOf(listBackupsQuery.safeParse({ database: 'shop-db', volume: 'shop-uploads' }));

    // then
    expect(issues).toEqual([{ path: ['volume'], message: 'give database or volume, not both' }]);
  });
});
