import { compilePathGlob } from '../../../lib/config/glob-compile';
import { sqliteRoles } from '../../../lib/worker/volume';
import { isSqliteDatabase } from '../../../lib/worker/volume/sqlite';

/** Which paths of a volume the archive takes through SQLite, which it leaves out, and which stay plain files. */

const rolesOf = (...globs: string[]) => sqliteRoles(globs.map(compilePathGlob));

describe('sqliteRoles', () => {
  it('given data/*.db, when paths are judged, then the databases it matches are taken and their side files left out', () => {
    // given
    const roleOf = rolesOf('data/*.db');

    // when
    const roles = Object.fromEntries(
      [
        'data/app.db',
        'data/app.db-wal',
        'data/app.db-shm',
        'data/app.db-journal',
        'data/app.db.bak',
        'data/sub/app.db',
        'app.db',
        'app.db-wal',
        'data/notes.txt-wal',
      ].map((path) => [path, roleOf(path)]),
    );

    // then
    expect(roles).toEqual({
      'data/app.db': { kind: 'database', glob: 'data/*.db' },
      'data/app.db-wal': { kind: 'companion', database: 'data/app.db' },
      'data/app.db-shm': { kind: 'companion', database: 'data/app.db' },
      'data/app.db-journal': { kind: 'companion', database: 'data/app.db' },
      'data/app.db.bak': { kind: 'plain' },
      'data/sub/app.db': { kind: 'plain' },
      'app.db': { kind: 'plain' },
      'app.db-wal': { kind: 'plain' },
      // A -wal beside no matched database is an ordinary file.
      'data/notes.txt-wal': { kind: 'plain' },
    });
  });

  it('given a glob that also matches the side files, when they are judged, then they are still left out, never taken as databases', () => {
    // given
    const roleOf = rolesOf('state/*');

    // when / then
    expect(roleOf('state/app')).toEqual({ kind: 'database', glob: 'state/*' });
    expect(roleOf('state/app-wal')).toEqual({ kind: 'companion', database: 'state/app' });
    expect(roleOf('state/app-journal')).toEqual({ kind: 'companion', database: 'state/app' });
  });

  it('given several globs, when a path matches more than one, then the first names it', () => {
    // given
    const roleOf = rolesOf('**/*.sqlite', 'cache/*');

    // when / then
    expect(roleOf('cache/index.sqlite')).toEqual({ kind: 'database', glob: '**/*.sqlite' });
    expect(roleOf('cache/blob')).toEqual({ kind: 'database', glob: 'cache/*' });
    expect(roleOf('.hidden/x.sqlite')).toEqual({ kind: 'database', glob: '**/*.sqlite' });
  });

  it('given a literal path, when paths are judged, then only that path is a database', () => {
    // given
    const roleOf = rolesOf('var/lib/app/main.db');

    // when / then
    expect(roleOf('var/lib/app/main.db')).toEqual({ kind: 'database', glob: 'var/lib/app/main.db' });
    expect(roleOf('var/lib/app/main.db-shm')).toEqual({ kind: 'companion', database: 'var/lib/app/main.db' });
    expect(roleOf('var/lib/app/other.db')).toEqual({ kind: 'plain' });
  });
});

describe('isSqliteDatabase', () => {
  const header = Buffer.from('SQLite format 3\0', 'latin1');

  it.each([
    ['the SQLite header and a page', Buffer.concat([header, Buffer.alloc(84)]), 4096, true],
    ['an empty file, which SQLite opens as an empty database', Buffer.alloc(0), 0, true],
    ['text', Buffer.from('not a database\n'), 15, false],
    ['the header cut short', header.subarray(0, 10), 10, false],
    ['a header in the wrong case', Buffer.from('sqlite format 3\0', 'latin1'), 4096, false],
  ])('given %s, when judged, then %s', (_, bytes, size, expected) => {
    expect(isSqliteDatabase(bytes, size)).toBe(expected);
  });
});
