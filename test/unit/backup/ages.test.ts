import { publishAgeMinutes } from '../../../lib/backup/ages';
import { captureEmf } from '../../support/emf';

const NOW = new Date('2026-11-22T12:00:00.000Z');

describe('publishAgeMinutes', () => {
  it('given a drill that passed 90 minutes ago, then one metric with exactly the alarm dimensions says 90', async () => {
    // when
    const [line] = await captureEmf(() =>
      publishAgeMinutes('NewestDrillAgeMinutes', { Volume: 'shop-uploads' }, '2026-11-22T10:30:00.000Z', NOW),
    );

    // then
    expect(line).toMatchObject({
      Volume: 'shop-uploads',
      NewestDrillAgeMinutes: 90,
      _aws: { CloudWatchMetrics: [{ Namespace: 'Slipway', Dimensions: [['Volume']] }] },
    });
  });

  it('given none yet, then the age is the largest one, so the alarm fires until the first succeeds', async () => {
    const [line] = await captureEmf(() =>
      publishAgeMinutes('NewestBackupAgeMinutes', { Dump: 'shop-db' }, undefined, NOW),
    );
    expect(line).toMatchObject({ Dump: 'shop-db', NewestBackupAgeMinutes: 10_000_000 });
  });

  it('given a time after now (clock skew), then the age is 0, never negative', async () => {
    const [line] = await captureEmf(() =>
      publishAgeMinutes('NewestBackupAgeMinutes', { Database: 'shop-db' }, '2026-11-22T12:05:00.000Z', NOW),
    );
    expect(line).toMatchObject({ NewestBackupAgeMinutes: 0 });
  });
});
