import {
  databaseOfSnapshot,
  drillIdentifier,
  exportTaskIdentifier,
  fitIdentifier,
  snapshotName,
} from '../../../lib/backup/identifiers';

// What RDS accepts as an identifier (CreateDBSnapshot, StartExportTask: RDS API Reference).
const RDS_IDENTIFIER = /^[A-Za-z](?!.*--)[A-Za-z0-9-]*(?<!-)$/;
const AT = new Date('2026-11-22T03:00:00.000Z');
const LATER = new Date('2026-11-23T03:00:00.000Z');

describe('snapshotName', () => {
  it('names the database and the minute, in UTC', () => {
    expect(snapshotName('shop-db', AT)).toBe('slipway-shop-db-202611220300');
    expect(databaseOfSnapshot('slipway-shop-db-202611220300')).toBe('shop-db');
  });
});

describe('exportTaskIdentifier', () => {
  it('is the snapshot with -export when it fits', () => {
    expect(exportTaskIdentifier('slipway-shop-db-202611220300')).toBe('slipway-shop-db-202611220300-export');
  });

  it('keeps the time stamp of a long name whole, and two days apart stay apart', () => {
    // Given a database name near the longest a cluster database may have (42 characters)
    const database = 'orders-ledger-reconciliation-eu-central-1x';
    const first = exportTaskIdentifier(snapshotName(database, AT));
    const second = exportTaskIdentifier(snapshotName(database, LATER));

    // Then each fits in 60 characters, is an identifier RDS accepts, and ends with its own stamp
    for (const id of [first, second]) {
      expect(id.length).toBeLessThanOrEqual(60);
      expect(id).toMatch(RDS_IDENTIFIER);
    }
    expect(first).toMatch(/-202611220300-export$/);
    expect(second).toMatch(/-202611230300-export$/);
    expect(first).not.toBe(second);
  });

  it('tells apart two long names that share their first characters', () => {
    const a = exportTaskIdentifier(snapshotName('reporting-warehouse-primary-eu-west-1-alpha', AT));
    const b = exportTaskIdentifier(snapshotName('reporting-warehouse-primary-eu-west-1-bravo', AT));
    expect(a).not.toBe(b);
  });
});

describe('drillIdentifier', () => {
  it('is slipway-drill-<database>-<stamp> when it fits', () => {
    expect(drillIdentifier('shop-db', AT)).toBe('slipway-drill-shop-db-202611220300');
  });

  it('fits 61 characters for a long name, stamp whole', () => {
    const id = drillIdentifier('orders-ledger-reconciliation-eu-central-1x', AT);
    expect(id.length).toBeLessThanOrEqual(61);
    expect(id).toMatch(RDS_IDENTIFIER);
    expect(id).toMatch(/-202611220300$/);
  });
});

describe('fitIdentifier', () => {
  it('never leaves a hyphen before the hash doubled', () => {
    // Given a head whose cut would end on its hyphen
    const id = fitIdentifier('abcdefghij-klmnopqrst', '-tail', 25);
    expect(id).toMatch(/^abcdefghij-[0-9a-f]{8}-tail$/);
    expect(id).toMatch(RDS_IDENTIFIER);
  });
});
