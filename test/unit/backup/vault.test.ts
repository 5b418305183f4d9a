import type { BackupRecord } from '../../../lib/backup/records';
import { planRetention } from '../../../lib/backup/retention';
import {
  isVaultCopy,
  planVaultCopy,
  VAULT_COPY_TAG,
  type Vault,
  vaultOf,
  vaultSnapshotInfo,
} from '../../../lib/backup/vault';

/** The vault's decisions: which account, what sharing and copying one snapshot takes or why not, what retention judges. */

const SOURCE_KEY = 'arn:aws:kms:us-east-1:111111111111:key/1f2e3d4c-5b6a-4789-8123-456789abcdef';
const VAULT_KEY = 'arn:aws:kms:us-east-1:444444444444:key/7c6b5a49-3827-4165-9f8e-7d6c5b4a3928';
const VAULT_ROLE = 'arn:aws:iam::444444444444:role/slipway-vault';
const VAULT_KEY_EU = 'arn:aws:kms:eu-west-1:444444444444:key/3a9e8d7c-6b5a-4f49-8382-7160f5e4d3c2';
const vault: Vault = { account: 'vault', accountId: '444444444444', roleArn: VAULT_ROLE, kmsKeys: [VAULT_KEY] };

const snapshot = (over: Partial<BackupRecord> = {}): BackupRecord => ({
  id: 'bkp-00000000-0000-4000-8000-000000000001',
  kind: 'rds-snapshot',
  database: 'shop-db',
  source: { type: 'instance', identifier: 'shop-prod' },
  region: 'us-east-1',
  snapshotIdentifier: 'slipway-shop-db-202611220300',
  snapshotArn: 'arn:aws:rds:us-east-1:111111111111:snapshot:slipway-shop-db-202611220300',
  status: 'AVAILABLE',
  trigger: 'schedule',
  encrypted: false,
  createdAt: '2026-11-22T03:00:00.000Z',
  updatedAt: '2026-11-22T03:10:00.000Z',
  ...over,
});

describe('vaultOf', () => {
  it('given backups.vaultAccount, when read, then it is that account with its id, role and key', () => {
    // Given / When
    const found = vaultOf({
      accounts: { vault: { roleArn: VAULT_ROLE } },
      backups: { vaultAccount: 'vault', vaultKmsKey: VAULT_KEY },
    });

    // Then
    expect(found).toEqual(vault);
  });

  it('given backups.vaultKmsKey as a list, when read, then the vault holds every key', () => {
    // Given / When
    const found = vaultOf({
      accounts: { vault: { roleArn: VAULT_ROLE } },
      backups: { vaultAccount: 'vault', vaultKmsKey: [VAULT_KEY, VAULT_KEY_EU] },
    });

    // Then
    expect(found?.kmsKeys).toEqual([VAULT_KEY, VAULT_KEY_EU]);
  });

  it('given no backups.vaultAccount, when read, then there is no vault', () => {
    expect(vaultOf({ accounts: { vault: { roleArn: VAULT_ROLE } }, backups: {} })).toBeUndefined();
  });
});

describe('planVaultCopy', () => {
  it('given an unencrypted snapshot, when planned, then it is shared and copied, with no key and no grant', () => {
    // When
    const plan = planVaultCopy(snapshot(), vault, undefined);

    // Then
    expect(plan).toEqual({
      steps: {
        share: {
          type: 'instance',
          identifier: 'slipway-shop-db-202611220300',
          attribute: 'restore',
          accountId: '444444444444',
        },
        copy: {
          type: 'instance',
          sourceArn: 'arn:aws:rds:us-east-1:111111111111:snapshot:slipway-shop-db-202611220300',
          targetIdentifier: 'slipway-shop-db-202611220300',
          tags: [
            { Key: 'slipway:database', Value: 'shop-db' },
            { Key: 'slipway:created-by', Value: 'slipway' },
            { Key: VAULT_COPY_TAG, Value: 'true' },
            { Key: 'slipway:source-account', Value: '111111111111' },
          ],
        },
      },
    });
  });

  it('given a snapshot encrypted with a customer managed key, when planned, then the key is granted to the vault role and the copy uses the vault key', () => {
    // When
    const plan = planVaultCopy(snapshot({ encrypted: true, kmsKeyId: SOURCE_KEY }), vault, 'CUSTOMER');

    // Then
    if (!('steps' in plan)) throw new Error(plan.refused);
    expect(plan.steps.grant).toEqual({
      keyId: SOURCE_KEY,
      granteePrincipal: VAULT_ROLE,
      name: 'slipway-vault-copies',
      operations: ['Decrypt', 'DescribeKey', 'CreateGrant', 'ReEncryptFrom'],
    });
    expect(plan.steps.copy.kmsKeyId).toBe(VAULT_KEY);
  });

  it('given a snapshot of a database in member account 222222222222, when planned, then the copy names that account as its source and its key is granted there', () => {
    // Given the snapshot in the member account, encrypted with a key of that account
    const memberKey = 'arn:aws:kms:us-east-1:222222222222:key/7c6b5a49-3827-4165-9e8d-1c2b3a4d5e6f';
    const inMember = snapshot({
      database: 'orders-db',
      snapshotIdentifier: 'slipway-orders-db-202611220330',
      snapshotArn: 'arn:aws:rds:us-east-1:222222222222:snapshot:slipway-orders-db-202611220330',
      encrypted: true,
      kmsKeyId: memberKey,
    });

    // When
    const plan = planVaultCopy(inMember, vault, 'CUSTOMER');

    // Then
    if (!('steps' in plan)) throw new Error(plan.refused);
    expect(plan.steps.share).toEqual({
      type: 'instance',
      identifier: 'slipway-orders-db-202611220330',
      attribute: 'restore',
      accountId: '444444444444',
    });
    expect(plan.steps.grant).toMatchObject({ keyId: memberKey, granteePrincipal: VAULT_ROLE });
    expect(plan.steps.copy).toMatchObject({
      sourceArn: inMember.snapshotArn,
      kmsKeyId: VAULT_KEY,
      tags: expect.arrayContaining([{ Key: 'slipway:source-account', Value: '222222222222' }]),
    });
  });

  it('given a cluster snapshot, when planned, then it is shared and copied as a cluster snapshot', () => {
    // When
    const plan = planVaultCopy(
      snapshot({
        kind: 'rds-cluster-snapshot',
        source: { type: 'cluster', identifier: 'reports-aurora' },
        snapshotArn: 'arn:aws:rds:us-east-1:111111111111:cluster-snapshot:slipway-shop-db-202611220300',
      }),
      vault,
      undefined,
    );

    // Then
    if (!('steps' in plan)) throw new Error(plan.refused);
    expect([plan.steps.share.type, plan.steps.copy.type]).toEqual(['cluster', 'cluster']);
  });

  it.each([
    [
      'encrypted with the default key aws/rds',
      snapshot({ encrypted: true, kmsKeyId: SOURCE_KEY }),
      vault,
      'AWS',
      /default key aws\/rds.*RDS User Guide, "Sharing encrypted snapshots"/,
    ],
    [
      'encrypted, with no vault key',
      snapshot({ encrypted: true, kmsKeyId: SOURCE_KEY }),
      { ...vault, kmsKeys: [] },
      'CUSTOMER',
      /backups\.vaultKmsKey names no key/,
    ],
    [
      'encrypted with a key Slipway does not know',
      snapshot({ encrypted: true }),
      vault,
      undefined,
      /does not know with which key/,
    ],
    ['without an ARN', snapshot({ snapshotArn: undefined }), vault, undefined, /has no ARN/],
    [
      'encrypted, in a region where the vault has no key',
      snapshot({
        encrypted: true,
        kmsKeyId: SOURCE_KEY,
        snapshotArn: 'arn:aws:rds:eu-west-1:222222222222:snapshot:slipway-shop-db-202611220300',
      }),
      vault,
      'CUSTOMER',
      /is in eu-west-1, and backups\.vaultKmsKey has no key there \(only in us-east-1\)/,
    ],
    [
      'already in the vault account',
      snapshot({ snapshotArn: 'arn:aws:rds:us-east-1:444444444444:snapshot:slipway-shop-db-202611220300' }),
      vault,
      undefined,
      /in the vault account vault itself/,
    ],
  ] as const)(
    'given a snapshot %s, when planned, then it is refused with the reason',
    (_what, given, to, manager, reason) => {
      // When
      const plan = planVaultCopy(given, to, manager);

      // Then
      expect(plan).toEqual({ refused: expect.stringMatching(reason) });
    },
  );
});

describe('the vault key a copy is encrypted with', () => {
  const regional: Vault = { ...vault, kmsKeys: [VAULT_KEY, VAULT_KEY_EU] };
  const copyKey = (region: string) => {
    const plan = planVaultCopy(
      snapshot({
        encrypted: true,
        kmsKeyId: SOURCE_KEY.replace('us-east-1', region),
        region,
        snapshotArn: `arn:aws:rds:${region}:111111111111:snapshot:slipway-shop-db-202611220300`,
      }),
      regional,
      'CUSTOMER',
    );
    return 'steps' in plan ? plan.steps.copy.kmsKeyId : plan.refused;
  };

  it.each([
    ['us-east-1', VAULT_KEY],
    ['eu-west-1', VAULT_KEY_EU],
  ])(
    'given a vault key per region, when a snapshot in %s is planned, then its copy takes that region key',
    (region, key) => {
      expect(copyKey(region)).toBe(key);
    },
  );
});

describe('the vault snapshots retention judges', () => {
  const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T03:00:00.000Z`;
  const copyTags = [
    { Key: 'slipway:database', Value: 'shop-db' },
    { Key: 'slipway:created-by', Value: 'slipway' },
    { Key: VAULT_COPY_TAG, Value: 'true' },
  ];

  it('given the vault’s snapshots, when judged with the database’s plan, then only Slipway’s copies of that database go, oldest first', () => {
    // Given three copies a day apart, a snapshot someone else made of the database, and another database's copy
    const snapshots = [
      { id: 'slipway-shop-db-202611200300', createdAt: at(20), status: 'available', tags: copyTags },
      { id: 'slipway-shop-db-202611210300', createdAt: at(21), status: 'available', tags: copyTags },
      { id: 'slipway-shop-db-202611220300', createdAt: at(22), status: 'available', tags: copyTags },
      {
        id: 'manual-by-hand',
        createdAt: at(19),
        status: 'available',
        tags: [{ Key: 'slipway:database', Value: 'shop-db' }],
      },
      {
        id: 'slipway-orders-db-202611190300',
        createdAt: at(19),
        status: 'available',
        tags: [...copyTags.slice(1), { Key: 'slipway:database', Value: 'orders-db' }],
      },
    ];

    // When
    const infos = snapshots.flatMap((found) => {
      const info = vaultSnapshotInfo(found, 'shop-db', 'us-east-1');
      return info ? [info] : [];
    });
    const decision = planRetention(infos, { daily: 2, weekly: 0, monthly: 0 }, new Date(at(22)));

    // Then
    expect(infos.map(({ id }) => id)).not.toContain('slipway-orders-db-202611190300');
    expect(decision.delete.map(({ snapshot }) => snapshot.id)).toEqual(['slipway-shop-db-202611200300']);
    expect(decision.keep.find(({ snapshot }) => snapshot.id === 'manual-by-hand')?.reasons).toEqual([
      'not created by Slipway',
    ]);
  });

  it('tells a vault copy record from a snapshot of the control plane’s own account', () => {
    expect([isVaultCopy(snapshot({ account: 'vault' })), isVaultCopy(snapshot())]).toEqual([true, false]);
  });
});
