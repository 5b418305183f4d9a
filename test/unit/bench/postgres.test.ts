import { jest } from '@jest/globals';

const NO_SERVER = 'no initdb under /usr/lib/postgresql/*/bin: install the Debian postgresql package';

jest.unstable_mockModule('../../../test/support/postgres', () => ({
  serverBinDir: () => {
    throw new Error(NO_SERVER);
  },
  startThrowawayPostgres: jest.fn(),
}));

const { benchPostgres, postgresSection } = await import('../../../scripts/bench-postgres');
const support = await import('../../../test/support/postgres');

describe('the PostgreSQL bench on a machine without PostgreSQL', () => {
  it('says so in its section instead of failing, and starts nothing', async () => {
    // when
    const result = await benchPostgres({ sizeMiB: 16, log: () => undefined });

    // then
    expect(result).toEqual({ available: false, reason: NO_SERVER, sizeMiB: 16 });
    expect(support.startThrowawayPostgres).not.toHaveBeenCalled();
    const section = postgresSection(result, '2026-11-23');
    expect(section).toContain(`Not measured on 2026-11-23: ${NO_SERVER}.`);
    expect(section).toContain('.ci/run');
  });
});
