import type { RestoreRecord } from '../../../lib/backup/records';
import { mayRemoveShare, shareOutstanding } from '../../../lib/restore/vault-restore-shares';

/** When the share of a vault copy with the account a restore went into may be removed. */

const restore = (over: Partial<RestoreRecord> = {}): RestoreRecord => ({
  id: 'rst-1',
  database: 'shop-db',
  source: { type: 'instance', identifier: 'shop-prod' },
  from: { backupId: 'bkp-2', snapshotIdentifier: 'slipway-shop-db-202611220300' },
  targetIdentifier: 'shop-prod-restore-1',
  region: 'us-east-1',
  account: 'staging',
  vaultShare: { vault: 'vault', accountId: '222222222222' },
  status: 'AVAILABLE',
  requestedBy: 'alice',
  drill: false,
  createdAt: '2026-11-22T03:00:00.000Z',
  updatedAt: '2026-11-22T03:20:00.000Z',
  ...over,
});

describe('mayRemoveShare', () => {
  it.each([
    ['available', restore(), true],
    ['failed', restore({ status: 'FAILED' }), true],
    ['still restoring', restore({ status: 'RESTORING' }), false],
    ['already unshared', restore({ vaultShare: { vault: 'vault', accountId: '222222222222', removedAt: 'x' } }), false],
    ['into the vault itself (nothing shared)', restore({ account: 'vault', vaultShare: undefined }), false],
  ])('given a restore %s, when asked alone, then the share may be removed: %s', (_what, record, expected) => {
    expect(mayRemoveShare(record, [record])).toBe(expected);
    expect(shareOutstanding(record)).toBe(record.vaultShare !== undefined && record.vaultShare.removedAt === undefined);
  });

  it('given another restore of the same copy into the same account still restoring, then the share stays until it ends', () => {
    // Given
    const ended = restore();
    const running = restore({ id: 'rst-2', targetIdentifier: 'shop-prod-restore-2', status: 'RESTORING' });

    // Then
    expect(mayRemoveShare(ended, [ended, running])).toBe(false);
    // And another account's restore, or another copy's, does not hold it
    const elsewhere = restore({
      id: 'rst-3',
      status: 'RESTORING',
      vaultShare: { vault: 'vault', accountId: '333333333333' },
    });
    const otherCopy = restore({
      id: 'rst-4',
      status: 'RESTORING',
      from: { backupId: 'bkp-9', snapshotIdentifier: 'slipway-other' },
    });
    expect(mayRemoveShare(ended, [ended, elsewhere, otherCopy])).toBe(true);
  });
});
