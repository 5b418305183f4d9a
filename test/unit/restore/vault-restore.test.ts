import type { BackupRecord } from '../../../lib/backup/records';
import { InvalidInput, Unprocessable } from '../../../lib/errors';
import {
  refusePlaceElsewhere,
  vaultClusterRestore,
  vaultInstanceRestore,
  vaultRestorePlace,
} from '../../../lib/restore/vault-restore';
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

const accounts = {
  accounts: {
    vault: { roleArn: 'arn:aws:iam::444444444444:role/slipway-vault' },
    staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-staging', regions: ['us-east-1'] },
    production: { roleArn: 'arn:aws:iam::333333333333:role/slipway-production', regions: ['eu-west-1'] },
  },
};
const ARN = 'arn:aws:rds:us-east-1:444444444444:snapshot:slipway-shop-db-202611220300';
const KEY = 'arn:aws:kms:us-east-1:444444444444:key/0b1c2d3e-0000-4000-8000-000000000001';

describe('vaultRestorePlace', () => {
  it.each([
    ['nothing', {}],
    ['the copy’s own account and region', { account: 'vault', region: 'us-east-1' }],
  ])('given %s asked, when placed, then the restore goes where the copy is, with no share', (_what, asked) => {
    expect(vaultRestorePlace(copy({ snapshotArn: ARN }), asked, accounts)).toEqual({
      account: 'vault',
      region: 'us-east-1',
    });
  });

  it('given another account under accounts, when placed, then the copy is shared with it by ARN, its key granted to its role', () => {
    // Given an encrypted copy
    const encrypted = copy({ snapshotArn: ARN, encrypted: true, kmsKeyId: KEY });

    // When placed in staging
    const place = vaultRestorePlace(encrypted, { account: 'staging' }, accounts);

    // Then the vault shares it with staging's account, and grants staging's role the use of the vault's key
    expect(place).toEqual({
      account: 'staging',
      region: 'us-east-1',
      share: {
        vault: 'vault',
        accountId: '222222222222',
        granteeRoleArn: 'arn:aws:iam::222222222222:role/slipway-staging',
        snapshotArn: ARN,
        kmsKeyId: KEY,
      },
    });
    // And an unencrypted copy needs no key
    expect(vaultRestorePlace(copy({ snapshotArn: ARN }), { account: 'staging' }, accounts).share).not.toHaveProperty(
      'kmsKeyId',
    );
  });

  it('given @control-plane, when placed, then the copy is shared with the control plane’s account, its key granted to the restoring role', () => {
    // Given an encrypted copy, and the control plane's account as createRestore's role tells it
    const encrypted = copy({ snapshotArn: ARN, encrypted: true, kmsKeyId: KEY });
    const controlPlane = {
      accountId: '111111111111',
      restoringRoleArn: 'arn:aws:iam::111111111111:role/slipway-prod-createRestore-us-east-1-lambdaRole',
    };

    // When placed in the control plane's own account
    const place = vaultRestorePlace(encrypted, { account: '@control-plane' }, accounts, controlPlane);

    // Then it goes to no account under accounts, shared with the control plane's account, the key's use granted to its role
    expect(place).toEqual({
      account: undefined,
      region: 'us-east-1',
      share: {
        vault: 'vault',
        accountId: '111111111111',
        granteeRoleArn: controlPlane.restoringRoleArn,
        snapshotArn: ARN,
        kmsKeyId: KEY,
      },
    });
    // And a copy without an ARN is refused, naming the control plane's account
    expect(
      thrown<Unprocessable>(() => vaultRestorePlace(copy(), { account: '@control-plane' }, accounts, controlPlane))
        .message,
    ).toMatch(/^account: backup .* has no ARN, by which the control plane's account would restore it/);
  });

  it('given @control-plane where the control plane’s account is not known, when placed, then it is refused naming account', () => {
    const error = thrown<Unprocessable>(() =>
      vaultRestorePlace(copy({ snapshotArn: ARN }), { account: '@control-plane' }, accounts),
    );
    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toMatch(/^account: @control-plane is not known where this control plane runs/);
  });

  it('given an account named like the control plane’s spelling without its @, when placed, then it is an account under accounts or refused', () => {
    expect(
      thrown<Unprocessable>(() => vaultRestorePlace(copy(), { account: 'control-plane' }, accounts)).message,
    ).toMatch(/^account: control-plane is not a name under accounts .* nor @control-plane/);
  });

  it.each([
    [
      'an account not under accounts',
      copy(),
      { account: 'elsewhere' },
      /^account: elsewhere is not a name under accounts \(vault, staging, production\)/,
    ],
    [
      'another region',
      copy(),
      { region: 'eu-west-1' },
      /^region: backup .* is a copy in us-east-1, and a snapshot is restored in its own region/,
    ],
    [
      'an account whose regions leave out the copy’s',
      copy({ snapshotArn: ARN }),
      { account: 'production' },
      /^region: .* a region accounts.production.regions does not list \(eu-west-1\)/,
    ],
    ['another account, and a copy without an ARN', copy(), { account: 'staging' }, /^account: backup .* has no ARN/],
    [
      'another account, and an encrypted copy of an unknown key',
      copy({ snapshotArn: ARN, encrypted: true }),
      { account: 'staging' },
      /^account: .* encrypted with a key Slipway does not know/,
    ],
    ['a copy still being made', copy({ status: 'CREATING' }), {}, /is CREATING, not AVAILABLE/],
  ])(
    'given %s, when placed, then it is refused (422) naming the field and the reason',
    (_what, given, asked, reason) => {
      const error = thrown<Unprocessable>(() => vaultRestorePlace(given, asked, accounts));
      expect(error).toBeInstanceOf(Unprocessable);
      expect(error.message).toMatch(reason);
    },
  );
});

describe('vaultClusterRestore', () => {
  const tags = [{ Key: 'slipway:restore-id', Value: 'rst-1' }];
  const aurora = { DBClusterIdentifier: 'reports-aurora', Engine: 'aurora-postgresql', EngineVersion: '16.4' };

  it('given an Aurora cluster’s copy, when planned, then the cluster keeps the copy’s engine version and gets a writer of the class asked', () => {
    // When
    const plan = vaultClusterRestore(aurora, ARN, 'reports-aurora-restore-1', { instanceClass: 'db.r6g.large' }, tags);

    // Then the cluster is restored by the copy's ARN, and its writer is planned as for any restored Aurora cluster
    expect(plan).toEqual({
      multiAZCluster: false,
      cluster: {
        DBClusterIdentifier: 'reports-aurora-restore-1',
        SnapshotIdentifier: ARN,
        Engine: 'aurora-postgresql',
        EngineVersion: '16.4',
        Tags: tags,
      },
      writer: {
        DBInstanceIdentifier: 'reports-aurora-restore-1-1',
        DBClusterIdentifier: 'reports-aurora-restore-1',
        Engine: 'aurora-postgresql',
        DBInstanceClass: 'db.r6g.large',
        Tags: tags,
      },
    });
  });

  it('given a Multi-AZ DB cluster’s copy, when planned, then RDS makes its instances of the class asked, and no writer is planned', () => {
    const plan = vaultClusterRestore(
      { DBClusterIdentifier: 'orders', Engine: 'postgres', EngineVersion: '16.4', StorageType: 'io1' },
      'slipway-orders-1',
      'orders-restore-1',
      { instanceClass: 'db.m6gd.large' },
      tags,
    );
    expect(plan.multiAZCluster).toBe(true);
    expect(plan.writer).toBeUndefined();
    expect(plan.cluster).toMatchObject({ DBClusterInstanceClass: 'db.m6gd.large', StorageType: 'io1' });
  });

  it('given no instance class, when planned, then it is refused (422) naming overrides.instanceClass', () => {
    const error = thrown<Unprocessable>(() => vaultClusterRestore(aurora, ARN, 'reports-aurora-restore-1', {}, tags));
    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toMatch(/^overrides\.instanceClass: a cluster snapshot names no instance class/);
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
