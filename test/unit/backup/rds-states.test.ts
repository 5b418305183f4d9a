import { maySnapshot, restoreTargetProgress, snapshotProgress } from '../../../lib/backup/rds-states';

describe('snapshotProgress', () => {
  it.each([
    // A cross-region copy waits in pending before it starts copying.
    ['pending', 'in-progress'],
    ['creating', 'in-progress'],
    ['copying', 'in-progress'],
    // A status RDS adds later is waited on, never taken for a failure.
    ['some-new-status', 'in-progress'],
    ['available', 'available'],
    // The RDS waiter DBSnapshotAvailable ends as failed on these.
    ['failed', 'failed'],
    ['deleted', 'failed'],
    ['deleting', 'failed'],
    ['incompatible-restore', 'failed'],
    ['incompatible-parameters', 'failed'],
    // DBSnapshotNotFoundFault: gone.
    ['missing', 'failed'],
  ])('reads a snapshot in %s as %s', (status, progress) => {
    expect(snapshotProgress(status)).toBe(progress);
  });
});

describe('restoreTargetProgress', () => {
  it.each([
    'failed',
    'restore-error',
    'incompatible-restore',
    'incompatible-parameters',
    'incompatible-network',
    'incompatible-option-group',
    'inaccessible-encryption-credentials',
    'insufficient-capacity',
    'cloning-failed',
    'migration-failed',
  ])('ends a restore whose target is %s as failed', (status) => {
    expect(restoreTargetProgress(status)).toBe('failed');
  });

  it.each(['creating', 'backing-up', 'modifying', 'configuring-enhanced-monitoring', 'storage-optimization'])(
    'waits for a target that is %s',
    (status) => {
      expect(restoreTargetProgress(status)).toBe('in-progress');
    },
  );

  it('is done when the target is available', () => {
    expect(restoreTargetProgress('available')).toBe('available');
  });
});

describe('maySnapshot', () => {
  it.each([
    ['instance', 'available', true],
    // CreateDBSnapshot: "available or storage-optimization".
    ['instance', 'storage-optimization', true],
    ['instance', 'modifying', false],
    ['instance', 'backing-up', false],
    ['cluster', 'available', true],
    ['cluster', 'storage-optimization', false],
  ] as const)('a %s in %s may be snapshotted: %s', (type, status, may) => {
    expect(maySnapshot(type, status)).toBe(may);
  });
});
