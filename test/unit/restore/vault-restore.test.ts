import type { BackupRecord } from '../../../lib/backup/records';
import { InvalidInput, Unprocessable } from '../../../lib/errors';
import { refusePlaceElsewhere, vaultInstanceRestore, vaultRestorePlace } from '../../../lib/restore/vault-restore';
import { thrown } from '../../support/thrown';

/** Where a vault copy is restored, and what the restore asks of RDS there. */

const copy = (over: Partial<BackupRecord> = {}) => ({
  id: 'bkp-00000000-0000-4000-8000-000000000002',
  account: 'vault',
  region: 'us-east-1',
  status: 'AVAILABLE' as const,
  source: { type: 'instance' as const, identifier: 'shop-prod' },
  ...over,
});

describe('vaultRestorePlace', () => {
  it.each([
    ['nothing', {}],
    ['the copy’s own account and region', { account: 'vault', region: 'us-east-1' }],
  ])('given %s asked, when placed, then the restore goes where the copy is', (_what, asked) => {
    expect(vaultRestorePlace(copy(), asked)).toEqual({ account: 'vault', region: 'us-east-1' });
  });

  it.each([
    ['another account', copy(), { account: 'production' }, /^account: backup .* is a copy in account vault/],
    ['another region', copy(), { region: 'eu-west-1' }, /^region: backup .* is a copy in us-east-1/],
    ['a copy still being made', copy({ status: 'CREATING' }), {}, /is CREATING, not AVAILABLE/],
    [
      'a copy of a DB cluster snapshot',
      copy({ source: { type: 'cluster', identifier: 'reports-aurora' } }),
      {},
      /restores vault copies of DB instances only/,
    ],
  ])('given %s, when placed, then it is refused (422) with the reason', (_what, given, asked, reason) => {
    const error = thrown<Unprocessable>(() => vaultRestorePlace(given, asked));
    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toMatch(reason);
  });
});

describe('vaultInstanceRestore', () => {
  it('given overrides, when planned, then the copy’s own settings are restored with them and Slipway’s tags only', () => {
    // When
    const input = vaultInstanceRestore(
      'slipway-shop-db-202611220300',
      'shop-prod-restore-1',
      { instanceClass: 'db.t4g.medium', dbSubnetGroupName: 'vault-db', vpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718'] },
      [{ Key: 'slipway:restore-id', Value: 'rst-1' }],
    );

    // Then nothing the caller left out is sent: RDS takes it from the snapshot or the account's defaults
    expect(input).toEqual({
      DBInstanceIdentifier: 'shop-prod-restore-1',
      DBSnapshotIdentifier: 'slipway-shop-db-202611220300',
      DBInstanceClass: 'db.t4g.medium',
      DBSubnetGroupName: 'vault-db',
      VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718'],
      Tags: [{ Key: 'slipway:restore-id', Value: 'rst-1' }],
    });
  });
});

describe('refusePlaceElsewhere', () => {
  it('given account or region on a restore that is not of a vault copy, when checked, then it is refused (400) naming the field', () => {
    const error = thrown<InvalidInput>(() => refusePlaceElsewhere({ region: 'eu-west-1' }));
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toMatch(/^region: applies only to the restore of a vault copy/);
    expect(() => refusePlaceElsewhere({})).not.toThrow();
  });
});
