import { readFileSync } from 'node:fs';
import type {
  DBCluster,
  DBInstance,
  DescribeDBClustersCommandOutput,
  DescribeDBInstancesCommandOutput,
  Tag,
} from '@aws-sdk/client-rds';
import { InvalidInput, SlipwayError, Unprocessable } from '../../../lib/errors';
import {
  clusterFromSnapshot,
  clusterToPointInTime,
  clusterWriter,
  encryptionKeyProblem,
  instanceFromSnapshot,
  instanceToPointInTime,
  isMultiAZCluster,
  restoreTags,
  sourceWriterIdentifier,
} from '../../../lib/restore/plan';

// The SDK turns these timestamps into Dates; the fixtures keep the wire's ISO strings.
const DATE_FIELDS = new Set([
  'InstanceCreateTime',
  'LatestRestorableTime',
  'EarliestRestorableTime',
  'ClusterCreateTime',
  'ValidTill',
]);

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(`test/fixtures/rds/${name}.json`, 'utf8'), (key, value) =>
    DATE_FIELDS.has(key) && typeof value === 'string' ? new Date(value) : value,
  );
}

function postgres(): DBInstance {
  const instance = fixture<DescribeDBInstancesCommandOutput>('describe-db-instances.postgres').DBInstances?.[0];
  if (!instance) throw new Error('fixture has no instance');
  return instance;
}

function aurora(): DBCluster {
  const cluster = fixture<DescribeDBClustersCommandOutput>('describe-db-clusters.aurora').DBClusters?.[0];
  if (!cluster) throw new Error('fixture has no cluster');
  return cluster;
}

function multiAZ(): DBCluster {
  const cluster = fixture<DescribeDBClustersCommandOutput>('describe-db-clusters.multi-az').DBClusters?.[0];
  if (!cluster) throw new Error('fixture has no cluster');
  return cluster;
}

function auroraWriter(): DBInstance {
  const instance = fixture<DescribeDBInstancesCommandOutput>('describe-db-instances.aurora-writer').DBInstances?.[0];
  if (!instance) throw new Error('fixture has no instance');
  return instance;
}

function without<T extends object>(value: T, ...keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key))) as Partial<T>;
}

function caught(act: () => unknown): SlipwayError {
  try {
    act();
  } catch (error) {
    if (error instanceof SlipwayError) return error;
    throw error;
  }
  throw new Error('expected the plan to be refused');
}

const SLIPWAY_TAGS: Tag[] = [
  { Key: 'slipway:restore-of', Value: 'shop-prod' },
  { Key: 'slipway:restore-id', Value: 'rst-20250314-01' },
];
const SECRET_KEYS = ['MasterUserPassword', 'MasterUserSecret', 'ManageMasterUserPassword', 'MasterUserSecretKmsKeyId'];
const SNAPSHOT = 'rds:shop-prod-2025-03-14-03-05';
const TARGET = 'shop-prod-restore-0314';

/** Each input field a restore copies from the instance, and where DescribeDBInstances holds it. */
const INSTANCE_FIELDS: Array<[string, (source: DBInstance) => unknown]> = [
  ['DBInstanceClass', (source) => source.DBInstanceClass],
  ['DBSubnetGroupName', (source) => source.DBSubnetGroup?.DBSubnetGroupName],
  ['VpcSecurityGroupIds', (source) => source.VpcSecurityGroups?.map((group) => group.VpcSecurityGroupId)],
  ['DBParameterGroupName', (source) => source.DBParameterGroups?.[0]?.DBParameterGroupName],
  ['MultiAZ', (source) => source.MultiAZ],
  ['StorageType', (source) => source.StorageType],
  ['AllocatedStorage', (source) => source.AllocatedStorage],
  ['Iops', (source) => source.Iops],
  ['StorageThroughput', (source) => source.StorageThroughput],
  ['PubliclyAccessible', (source) => source.PubliclyAccessible],
  ['Port', (source) => source.Endpoint?.Port],
  ['CopyTagsToSnapshot', (source) => source.CopyTagsToSnapshot],
  ['DeletionProtection', (source) => source.DeletionProtection],
  ['EnableIAMDatabaseAuthentication', (source) => source.IAMDatabaseAuthenticationEnabled],
  ['AutoMinorVersionUpgrade', (source) => source.AutoMinorVersionUpgrade],
  ['CACertificateIdentifier', (source) => source.CACertificateIdentifier],
  ['EngineLifecycleSupport', (source) => source.EngineLifecycleSupport],
];

/** What every restore of the PostgreSQL fixture carries besides its identifiers. */
const POSTGRES_SETTINGS = {
  DBInstanceClass: 'db.r6g.xlarge',
  DBSubnetGroupName: 'shop-prod-private',
  VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60718', 'sg-0f9e8d7c6b5a40312'],
  DBParameterGroupName: 'shop-prod-postgres16',
  MultiAZ: true,
  StorageType: 'gp3',
  AllocatedStorage: 500,
  Iops: 12000,
  StorageThroughput: 500,
  PubliclyAccessible: false,
  Port: 5433,
  CopyTagsToSnapshot: true,
  DeletionProtection: true,
  EnableIAMDatabaseAuthentication: true,
  AutoMinorVersionUpgrade: true,
  CACertificateIdentifier: 'rds-ca-rsa2048-g1',
  EngineLifecycleSupport: 'open-source-rds-extended-support',
  Tags: [
    { Key: 'app', Value: 'shop' },
    { Key: 'env', Value: 'production' },
    { Key: 'cost-center', Value: 'payments' },
    ...SLIPWAY_TAGS,
  ],
};

const CLUSTER_FIELDS: Array<[string, (source: DBCluster) => unknown]> = [
  ['Engine', (source) => source.Engine],
  ['EngineVersion', (source) => source.EngineVersion],
  ['DBSubnetGroupName', (source) => source.DBSubnetGroup],
  ['DBClusterParameterGroupName', (source) => source.DBClusterParameterGroup],
  ['Port', (source) => source.Port],
  ['StorageType', (source) => source.StorageType],
  ['ServerlessV2ScalingConfiguration', (source) => source.ServerlessV2ScalingConfiguration],
  ['CopyTagsToSnapshot', (source) => source.CopyTagsToSnapshot],
  ['DeletionProtection', (source) => source.DeletionProtection],
  ['EnableIAMDatabaseAuthentication', (source) => source.IAMDatabaseAuthenticationEnabled],
  ['EngineLifecycleSupport', (source) => source.EngineLifecycleSupport],
];

const ORDERS_TAGS: Tag[] = [
  { Key: 'slipway:restore-of', Value: 'orders-prod' },
  { Key: 'slipway:restore-id', Value: 'rst-20250314-02' },
];

/** What every restore of the Aurora fixture carries besides its identifiers and engine. */
const AURORA_SETTINGS = {
  DBSubnetGroupName: 'orders-prod-private',
  VpcSecurityGroupIds: ['sg-0c2d4e6f8a0b1c3d5'],
  DBClusterParameterGroupName: 'orders-prod-aurora-pg16',
  Port: 5432,
  StorageType: 'aurora-iopt1',
  ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 },
  CopyTagsToSnapshot: true,
  DeletionProtection: true,
  EnableIAMDatabaseAuthentication: true,
  EngineLifecycleSupport: 'open-source-rds-extended-support',
  Tags: [{ Key: 'app', Value: 'orders' }, { Key: 'env', Value: 'production' }, ...ORDERS_TAGS],
};

describe('instanceFromSnapshot', () => {
  it('copies the instance field by field into a new identifier', () => {
    // Given the Multi-AZ gp3 PostgreSQL instance as DescribeDBInstances returned it
    const source = postgres();

    // When its snapshot restore is planned
    const input = instanceFromSnapshot(source, SNAPSHOT, TARGET, {}, SLIPWAY_TAGS);

    // Then each copied field equals the source's, and the fixture has a value for each
    for (const [field, read] of INSTANCE_FIELDS) {
      const value = read(source);
      expect({ field, defined: value !== undefined }).toEqual({ field, defined: true });
      expect({ field, value: (input as unknown as Record<string, unknown>)[field] }).toEqual({ field, value });
    }
    // And the input is exactly that, under the new identifier, with no AZ (Multi-AZ) and no key
    expect(input).toStrictEqual({ DBInstanceIdentifier: TARGET, DBSnapshotIdentifier: SNAPSHOT, ...POSTGRES_SETTINGS });
  });

  it('lets each override replace the copied value', () => {
    const input = instanceFromSnapshot(
      postgres(),
      SNAPSHOT,
      TARGET,
      {
        instanceClass: 'db.t4g.large',
        multiAZ: false,
        storageType: 'io2',
        dbSubnetGroupName: 'shop-restore-drill',
        vpcSecurityGroupIds: ['sg-0123456789abcdef0'],
        dbParameterGroupName: 'shop-drill-postgres16',
        publiclyAccessible: true,
        deletionProtection: false,
      },
      SLIPWAY_TAGS,
    );

    expect(input).toStrictEqual({
      DBInstanceIdentifier: TARGET,
      DBSnapshotIdentifier: SNAPSHOT,
      // io2 takes the provisioned IOPS; throughput is a gp3 setting
      ...without(POSTGRES_SETTINGS, 'StorageThroughput'),
      DBInstanceClass: 'db.t4g.large',
      DBSubnetGroupName: 'shop-restore-drill',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      DBParameterGroupName: 'shop-drill-postgres16',
      // Single-AZ now, so the source's zone is kept next to the application
      MultiAZ: false,
      AvailabilityZone: 'us-east-1a',
      StorageType: 'io2',
      PubliclyAccessible: true,
      DeletionProtection: false,
    });
  });

  it('copies only active security groups, a custom option group, and no default groups', () => {
    const source = postgres();
    source.VpcSecurityGroups = [
      { VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'active' },
      { VpcSecurityGroupId: 'sg-0bbbbbbbbbbbbbbbb', Status: 'removing' },
    ];
    source.DBParameterGroups = [{ DBParameterGroupName: 'default.postgres16', ParameterApplyStatus: 'in-sync' }];
    source.OptionGroupMemberships = [
      { OptionGroupName: 'default:postgres-16', Status: 'pending-removal' },
      { OptionGroupName: 'shop-prod-pg16-options', Status: 'pending-apply' },
    ];

    const input = instanceFromSnapshot(source, SNAPSHOT, TARGET);

    expect(input.VpcSecurityGroupIds).toEqual(['sg-0a1b2c3d4e5f60718']);
    expect(input).not.toHaveProperty('DBParameterGroupName');
    expect(input.OptionGroupName).toBe('shop-prod-pg16-options');
  });

  it.each([
    [
      'gp3 above the 400 GiB threshold',
      'postgres',
      'gp3',
      500,
      12000,
      500,
      undefined,
      { Iops: 12000, StorageThroughput: 500 },
    ],
    ['gp3 below the threshold (baseline)', 'postgres', 'gp3', 100, 3000, 125, undefined, {}],
    [
      'gp3 on Oracle from 200 GiB',
      'oracle-ee',
      'gp3',
      250,
      12000,
      500,
      undefined,
      { Iops: 12000, StorageThroughput: 500 },
    ],
    ['gp3 on Oracle below 200 GiB', 'oracle-ee', 'gp3', 150, 3000, 125, undefined, {}],
    ['io1', 'mysql', 'io1', 200, 8000, undefined, undefined, { Iops: 8000 }],
    ['io2', 'postgres', 'io2', 200, 20000, undefined, undefined, { Iops: 20000 }],
    ['gp2', 'postgres', 'gp2', 200, undefined, undefined, undefined, {}],
    ['gp3 changed to io1', 'postgres', 'gp3', 500, 12000, 500, 'io1', { Iops: 12000 }],
    ['io1 changed to gp3 (baseline until modified)', 'postgres', 'io1', 500, 8000, undefined, 'gp3', {}],
    ['gp3 changed to gp2', 'postgres', 'gp3', 500, 12000, 500, 'gp2', {}],
  ])('sends the storage settings %s takes', (_case, engine, type, allocated, iops, throughput, override, expected) => {
    const source = { ...postgres(), Engine: engine, StorageType: type, AllocatedStorage: allocated };
    source.Iops = iops;
    source.StorageThroughput = throughput;

    const input = instanceFromSnapshot(source, SNAPSHOT, TARGET, override ? { storageType: override } : {});

    const storage = Object.fromEntries(
      Object.entries(input).filter(([key]) =>
        ['StorageType', 'AllocatedStorage', 'Iops', 'StorageThroughput'].includes(key),
      ),
    );
    expect(storage).toStrictEqual({ StorageType: override ?? type, AllocatedStorage: allocated, ...expected });
  });

  it('sends no AllocatedStorage for SQL Server, whose gp3 settings apply at any size', () => {
    const source = { ...postgres(), Engine: 'sqlserver-se', AllocatedStorage: 100, Iops: 4000, StorageThroughput: 250 };

    const input = instanceFromSnapshot(source, SNAPSHOT, TARGET);

    expect(input).not.toHaveProperty('AllocatedStorage');
    expect([input.Iops, input.StorageThroughput]).toEqual([4000, 250]);
  });

  it.each([
    [
      'DBSubnetGroup',
      (source: DBInstance) => delete source.DBSubnetGroup,
      'DB instance shop-prod has no DBSubnetGroup to copy; pass overrides.dbSubnetGroupName to choose one',
    ],
    [
      'VpcSecurityGroups',
      (source: DBInstance) => {
        source.VpcSecurityGroups = [{ VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'removing' }];
      },
      'DB instance shop-prod has no active VPC security group to copy; pass overrides.vpcSecurityGroupIds',
    ],
    [
      'DBInstanceClass',
      (source: DBInstance) => delete source.DBInstanceClass,
      'DB instance shop-prod has no DBInstanceClass to copy',
    ],
    [
      'StorageType',
      (source: DBInstance) => delete source.StorageType,
      'DB instance shop-prod has no StorageType to copy; pass overrides.storageType to choose one',
    ],
  ])('refuses a source without %s, naming it', (field, strip, message) => {
    const source = postgres();
    strip(source);

    const error = caught(() => instanceFromSnapshot(source, SNAPSHOT, TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect([error.message, error.details]).toEqual([message, { field }]);
  });

  it('takes the network from the overrides when the source has none to copy', () => {
    const source = postgres();
    delete source.DBSubnetGroup;
    source.VpcSecurityGroups = [];

    const input = instanceFromSnapshot(source, SNAPSHOT, TARGET, {
      dbSubnetGroupName: 'shop-restore-drill',
      vpcSecurityGroupIds: ['sg-0123456789abcdef0'],
    });

    expect([input.DBSubnetGroupName, input.VpcSecurityGroupIds]).toEqual([
      'shop-restore-drill',
      ['sg-0123456789abcdef0'],
    ]);
  });

  it.each([
    ['shop-prod', 'shop-prod is the source itself; a restore goes into a new DB instance'],
    ['SHOP-PROD', 'SHOP-PROD is the source itself; a restore goes into a new DB instance'],
    [
      '1shop',
      '1shop is not a valid DB instance identifier (1 to 63 letters, digits or hyphens, starting with a letter, no trailing or double hyphen)',
    ],
    [
      'shop--copy',
      'shop--copy is not a valid DB instance identifier (1 to 63 letters, digits or hyphens, starting with a letter, no trailing or double hyphen)',
    ],
    [
      'shop-copy-',
      'shop-copy- is not a valid DB instance identifier (1 to 63 letters, digits or hyphens, starting with a letter, no trailing or double hyphen)',
    ],
    [
      `s${'a'.repeat(63)}`,
      `s${'a'.repeat(63)} is not a valid DB instance identifier (1 to 63 letters, digits or hyphens, starting with a letter, no trailing or double hyphen)`,
    ],
  ])('refuses the target %s', (target, message) => {
    const error = caught(() => instanceFromSnapshot(postgres(), SNAPSHOT, target));

    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toBe(message);
  });

  it('accepts a 63-character target', () => {
    const target = `s${'a'.repeat(62)}`;
    expect(instanceFromSnapshot(postgres(), SNAPSHOT, target).DBInstanceIdentifier).toBe(target);
  });

  it('refuses an instance of an Aurora cluster', () => {
    const error = caught(() => instanceFromSnapshot(auroraWriter(), SNAPSHOT, TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe('DB instance orders-prod-writer belongs to DB cluster orders-prod; restore the cluster');
  });

  it('does not change the source it was given', () => {
    const source = postgres();
    const before = structuredClone(source);

    instanceFromSnapshot(source, SNAPSHOT, TARGET, { multiAZ: false }, SLIPWAY_TAGS);

    expect(source).toEqual(before);
  });
});

describe('instanceToPointInTime', () => {
  it('restores the instance as it was at a given time', () => {
    const at = new Date('2025-03-14T08:30:00.000Z');

    const input = instanceToPointInTime(postgres(), at, TARGET, {}, SLIPWAY_TAGS);

    expect(input).toStrictEqual({
      SourceDBInstanceIdentifier: 'shop-prod',
      TargetDBInstanceIdentifier: TARGET,
      RestoreTime: at,
      ...POSTGRES_SETTINGS,
    });
  });

  it('restores to the latest restorable time', () => {
    const input = instanceToPointInTime(postgres(), 'latest', TARGET, { instanceClass: 'db.r6g.large' }, SLIPWAY_TAGS);

    expect(input).toStrictEqual({
      SourceDBInstanceIdentifier: 'shop-prod',
      TargetDBInstanceIdentifier: TARGET,
      UseLatestRestorableTime: true,
      ...POSTGRES_SETTINGS,
      DBInstanceClass: 'db.r6g.large',
    });
  });

  it('refuses a time after the latest restorable time', () => {
    const error = caught(() => instanceToPointInTime(postgres(), new Date('2025-03-14T10:00:00.000Z'), TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      'DB instance shop-prod can be restored up to 2025-03-14T09:55:00.000Z (LatestRestorableTime), not 2025-03-14T10:00:00.000Z',
    );
  });

  it('refuses an instance without automated backups', () => {
    const source = { ...postgres(), BackupRetentionPeriod: 0, LatestRestorableTime: undefined };

    const error = caught(() => instanceToPointInTime(source, 'latest', TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      'DB instance shop-prod keeps no automated backups (BackupRetentionPeriod 0), so it has no point in time',
    );
  });

  it('refuses a time that is not a date', () => {
    const error = caught(() => instanceToPointInTime(postgres(), new Date('yesterday-ish'), TARGET));

    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toBe('the restore time is not a valid date');
  });
});

describe('clusterFromSnapshot', () => {
  const CLUSTER_SNAPSHOT = 'rds:orders-prod-2025-03-14-04-07';
  const CLUSTER_TARGET = 'orders-prod-restore-0314';

  it('copies the Aurora cluster field by field into a new identifier', () => {
    const source = aurora();

    const input = clusterFromSnapshot(source, CLUSTER_SNAPSHOT, CLUSTER_TARGET, {}, ORDERS_TAGS);

    for (const [field, read] of CLUSTER_FIELDS) {
      const value = read(source);
      expect({ field, defined: value !== undefined }).toEqual({ field, defined: true });
      expect({ field, value: (input as unknown as Record<string, unknown>)[field] }).toEqual({ field, value });
    }
    // Only the active group; no KmsKeyId, since RDS uses the snapshot's key
    expect(input).toStrictEqual({
      DBClusterIdentifier: CLUSTER_TARGET,
      SnapshotIdentifier: CLUSTER_SNAPSHOT,
      Engine: 'aurora-postgresql',
      EngineVersion: '16.4',
      ...AURORA_SETTINGS,
    });
  });

  it('lets the overrides that apply to a cluster replace the copied values', () => {
    const input = clusterFromSnapshot(aurora(), CLUSTER_SNAPSHOT, CLUSTER_TARGET, {
      storageType: 'aurora',
      dbSubnetGroupName: 'orders-restore-drill',
      vpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      dbClusterParameterGroupName: 'orders-drill-aurora-pg16',
      deletionProtection: false,
      engineVersion: '16.2',
    });

    expect(input).toStrictEqual({
      DBClusterIdentifier: CLUSTER_TARGET,
      SnapshotIdentifier: CLUSTER_SNAPSHOT,
      Engine: 'aurora-postgresql',
      ...AURORA_SETTINGS,
      EngineVersion: '16.2',
      StorageType: 'aurora',
      DBSubnetGroupName: 'orders-restore-drill',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      DBClusterParameterGroupName: 'orders-drill-aurora-pg16',
      DeletionProtection: false,
      Tags: [
        { Key: 'app', Value: 'orders' },
        { Key: 'env', Value: 'production' },
      ],
    });
  });

  it('copies the instance class, storage and access of a Multi-AZ DB cluster', () => {
    const source: DBCluster = {
      ...aurora(),
      Engine: 'postgres',
      DBClusterParameterGroup: 'default.postgres16',
      DBClusterInstanceClass: 'db.m6gd.large',
      StorageType: 'io1',
      Iops: 3000,
      PubliclyAccessible: false,
      ServerlessV2ScalingConfiguration: undefined,
    };

    const input = clusterFromSnapshot(source, CLUSTER_SNAPSHOT, CLUSTER_TARGET, {}, ORDERS_TAGS);

    expect(input).toStrictEqual({
      DBClusterIdentifier: CLUSTER_TARGET,
      SnapshotIdentifier: CLUSTER_SNAPSHOT,
      Engine: 'postgres',
      EngineVersion: '16.4',
      // A default group is left to RDS; Serverless v2 scaling is Aurora's
      ...without(AURORA_SETTINGS, 'DBClusterParameterGroupName', 'ServerlessV2ScalingConfiguration'),
      DBClusterInstanceClass: 'db.m6gd.large',
      StorageType: 'io1',
      Iops: 3000,
      PubliclyAccessible: false,
    });
  });

  it.each([
    [
      'DBSubnetGroup',
      'DB cluster orders-prod has no DBSubnetGroup to copy; pass overrides.dbSubnetGroupName to choose one',
    ],
    [
      'EngineVersion',
      'DB cluster orders-prod has no EngineVersion to copy; pass overrides.engineVersion to choose one',
    ],
    ['Engine', 'DB cluster orders-prod has no Engine to copy'],
  ] as const)('refuses a cluster without %s, naming it', (field, message) => {
    const source = aurora();
    delete source[field];

    const error = caught(() => clusterFromSnapshot(source, CLUSTER_SNAPSHOT, CLUSTER_TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect([error.message, error.details]).toEqual([message, { field }]);
  });

  it('refuses to restore over the source cluster', () => {
    const error = caught(() => clusterFromSnapshot(aurora(), CLUSTER_SNAPSHOT, 'Orders-Prod'));

    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toBe('Orders-Prod is the source itself; a restore goes into a new DB cluster');
  });
});

describe('clusterToPointInTime', () => {
  const CLUSTER_TARGET = 'orders-prod-restore-0314';

  it('restores a full copy of the cluster as it was at a given time', () => {
    const at = new Date('2025-03-13T22:15:00.000Z');

    const input = clusterToPointInTime(aurora(), at, CLUSTER_TARGET, {}, ORDERS_TAGS);

    // The engine comes from the source cluster, so PITR takes no Engine or EngineVersion
    expect(input).toStrictEqual({
      DBClusterIdentifier: CLUSTER_TARGET,
      SourceDBClusterIdentifier: 'orders-prod',
      RestoreType: 'full-copy',
      RestoreToTime: at,
      ...AURORA_SETTINGS,
    });
  });

  it('restores to the latest restorable time', () => {
    const input = clusterToPointInTime(aurora(), 'latest', CLUSTER_TARGET, {}, ORDERS_TAGS);

    expect(input).toStrictEqual({
      DBClusterIdentifier: CLUSTER_TARGET,
      SourceDBClusterIdentifier: 'orders-prod',
      RestoreType: 'full-copy',
      UseLatestRestorableTime: true,
      ...AURORA_SETTINGS,
    });
  });

  it('refuses a time before the earliest restorable time', () => {
    const error = caught(() => clusterToPointInTime(aurora(), new Date('2025-03-01T00:00:00.000Z'), CLUSTER_TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      'DB cluster orders-prod can be restored from 2025-03-07T04:12:38.112Z (EarliestRestorableTime), not 2025-03-01T00:00:00.000Z',
    );
  });
});

describe('clusterWriter', () => {
  const CLUSTER_TARGET = 'orders-prod-restore-0314';

  it('names the source writer to describe', () => {
    expect(sourceWriterIdentifier(aurora())).toBe('orders-prod-writer');
  });

  it('plans the writer of the restored cluster from the source writer', () => {
    const writer = auroraWriter();

    const input = clusterWriter(aurora(), writer, CLUSTER_TARGET, {}, ORDERS_TAGS);

    expect(input).toStrictEqual({
      DBInstanceIdentifier: 'orders-prod-restore-0314-1',
      DBClusterIdentifier: CLUSTER_TARGET,
      Engine: 'aurora-postgresql',
      DBInstanceClass: writer.DBInstanceClass,
      DBParameterGroupName: writer.DBParameterGroups?.[0]?.DBParameterGroupName,
      PubliclyAccessible: writer.PubliclyAccessible,
      AutoMinorVersionUpgrade: writer.AutoMinorVersionUpgrade,
      CACertificateIdentifier: writer.CACertificateIdentifier,
      Tags: [
        { Key: 'app', Value: 'orders' },
        { Key: 'env', Value: 'production' },
        { Key: 'role', Value: 'writer' },
        ...ORDERS_TAGS,
      ],
    });
    // Pinned to the fixture, so a field read from the wrong place cannot pass
    expect([input.DBInstanceClass, input.DBParameterGroupName, input.AutoMinorVersionUpgrade]).toEqual([
      'db.r7g.large',
      'orders-prod-aurora-pg16-instance',
      false,
    ]);
  });

  it('lets the overrides choose class, parameter group and access', () => {
    const input = clusterWriter(aurora(), auroraWriter(), CLUSTER_TARGET, {
      instanceClass: 'db.serverless',
      dbParameterGroupName: 'orders-drill-instance',
      publiclyAccessible: true,
    });

    expect(input).toStrictEqual({
      DBInstanceIdentifier: 'orders-prod-restore-0314-1',
      DBClusterIdentifier: CLUSTER_TARGET,
      Engine: 'aurora-postgresql',
      DBInstanceClass: 'db.serverless',
      DBParameterGroupName: 'orders-drill-instance',
      PubliclyAccessible: true,
      AutoMinorVersionUpgrade: false,
      CACertificateIdentifier: 'rds-ca-ecc384-g1',
      Tags: [
        { Key: 'app', Value: 'orders' },
        { Key: 'env', Value: 'production' },
        { Key: 'role', Value: 'writer' },
      ],
    });
  });

  it('plans a Serverless v2 writer when the writer was not described', () => {
    const input = clusterWriter(aurora(), undefined, CLUSTER_TARGET, {}, ORDERS_TAGS);

    expect(input).toStrictEqual({
      DBInstanceIdentifier: 'orders-prod-restore-0314-1',
      DBClusterIdentifier: CLUSTER_TARGET,
      Engine: 'aurora-postgresql',
      DBInstanceClass: 'db.serverless',
      Tags: AURORA_SETTINGS.Tags,
    });
  });

  it('refuses a provisioned cluster whose writer was not described, naming the writer', () => {
    const source = { ...aurora(), ServerlessV2ScalingConfiguration: undefined };

    const error = caught(() => clusterWriter(source, undefined, CLUSTER_TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      'DB cluster orders-prod is provisioned and its writer was not described; describe orders-prod-writer or pass overrides.instanceClass',
    );
  });

  it('refuses a db.serverless writer for a cluster without Serverless v2 scaling', () => {
    const source = { ...aurora(), ServerlessV2ScalingConfiguration: undefined };

    const error = caught(() => clusterWriter(source, undefined, CLUSTER_TARGET, { instanceClass: 'db.serverless' }));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      'DB cluster orders-prod has no ServerlessV2ScalingConfiguration for a db.serverless writer',
    );
  });

  it('refuses an instance that is not the source writer', () => {
    const reader = { ...auroraWriter(), DBInstanceIdentifier: 'orders-prod-reader-1' };

    const error = caught(() => clusterWriter(aurora(), reader, CLUSTER_TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe(
      'DB instance orders-prod-reader-1 is not the writer of DB cluster orders-prod (orders-prod-writer is)',
    );
  });

  it('refuses a cluster whose writer name would be too long', () => {
    const cluster = `o${'a'.repeat(61)}`;

    const error = caught(() => clusterWriter(aurora(), auroraWriter(), cluster));

    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toBe(
      `${cluster}-1 is not a valid DB instance identifier (1 to 63 letters, digits or hyphens, starting with a letter, no trailing or double hyphen)`,
    );
  });

  it('refuses a Multi-AZ DB cluster, which creates its own instances', () => {
    const source = { ...aurora(), Engine: 'mysql' };

    const error = caught(() => clusterWriter(source, undefined, CLUSTER_TARGET));

    expect(error).toBeInstanceOf(Unprocessable);
    expect(error.message).toBe('DB cluster orders-prod is a Multi-AZ DB cluster (mysql); it creates its own instances');
  });
});

describe('a Multi-AZ DB cluster', () => {
  it('is told from Aurora by its engine', () => {
    expect(isMultiAZCluster(multiAZ())).toBe(true);
    expect(isMultiAZCluster(aurora())).toBe(false);
  });

  it('is restored from its snapshot as DescribeDBClusters described it, with its instance class and storage', () => {
    const input = clusterFromSnapshot(multiAZ(), 'slipway-ledger-db-202611220300', 'ledger-restore', {}, [
      { Key: 'slipway:restore-id', Value: 'rst-1' },
    ]);

    // Only parameters RestoreDBClusterFromSnapshot takes for a Multi-AZ DB cluster; RDS makes its instances
    expect(input).toStrictEqual({
      DBClusterIdentifier: 'ledger-restore',
      SnapshotIdentifier: 'slipway-ledger-db-202611220300',
      Engine: 'postgres',
      EngineVersion: '16.4',
      DBSubnetGroupName: 'ledger-private',
      VpcSecurityGroupIds: ['sg-0e4f6a8b0c2d4e6f8'],
      DBClusterParameterGroupName: 'ledger-multi-az-postgres16',
      Port: 5432,
      StorageType: 'io1',
      Iops: 3000,
      DBClusterInstanceClass: 'db.m6gd.large',
      PubliclyAccessible: false,
      CopyTagsToSnapshot: true,
      DeletionProtection: true,
      EnableIAMDatabaseAuthentication: false,
      EngineLifecycleSupport: 'open-source-rds-extended-support',
      Tags: [
        { Key: 'app', Value: 'ledger' },
        { Key: 'env', Value: 'production' },
        { Key: 'slipway:restore-id', Value: 'rst-1' },
      ],
    });
  });
});

describe('encryptionKeyProblem', () => {
  const KEY = 'arn:aws:kms:us-east-1:123456789012:key/5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c';
  const OTHER = 'arn:aws:kms:us-east-1:123456789012:key/99999999-8888-4777-a666-555555555555';

  it('lets an unencrypted source through, with or without a key configured', () => {
    expect(encryptionKeyProblem({ encrypted: false }, undefined, 'ledger-db', 'snapshot s')).toBeUndefined();
  });

  it('lets a source encrypted with the configured key through', () => {
    expect(encryptionKeyProblem({ encrypted: true, kmsKeyId: KEY }, KEY, 'ledger-db', 'snapshot s')).toBeUndefined();
  });

  it.each([
    [undefined, 'and databases.ledger-db.kmsKeyArn is not set'],
    [OTHER, `not with databases.ledger-db.kmsKeyArn (${OTHER})`],
  ])('refuses a source encrypted with another key (configured: %s), naming both', (configured, why) => {
    expect(encryptionKeyProblem({ encrypted: true, kmsKeyId: KEY }, configured, 'ledger-db', 'snapshot s')).toEqual({
      reason: `snapshot s is encrypted with KMS key ${KEY}, ${why}: set databases.ledger-db.kmsKeyArn to ${KEY} so that Slipway may use it (kms:CreateGrant, kms:DescribeKey), then restore again`,
      details: { field: 'databases.ledger-db.kmsKeyArn', kmsKeyId: KEY },
    });
  });
});

describe('no restore carries a secret', () => {
  it.each([
    ['instanceFromSnapshot', () => instanceFromSnapshot(postgres(), SNAPSHOT, TARGET, {}, SLIPWAY_TAGS)],
    ['instanceToPointInTime', () => instanceToPointInTime(postgres(), 'latest', TARGET, {}, SLIPWAY_TAGS)],
    ['clusterFromSnapshot', () => clusterFromSnapshot(aurora(), 'snap', 'orders-copy', {}, ORDERS_TAGS)],
    ['clusterToPointInTime', () => clusterToPointInTime(aurora(), 'latest', 'orders-copy', {}, ORDERS_TAGS)],
    ['clusterWriter', () => clusterWriter(aurora(), auroraWriter(), 'orders-copy', {}, ORDERS_TAGS)],
  ])('%s', (_name, plan) => {
    const input = plan();

    for (const key of [...SECRET_KEYS, 'KmsKeyId', 'MasterUsername']) expect(input).not.toHaveProperty(key);
    // Nor the managed secret's ARN or key under any other name
    expect(JSON.stringify(input)).not.toMatch(/secretsmanager|arn:aws:kms/);
  });
});

describe('restoreTags', () => {
  it('keeps the source tags RDS lets us set, then adds the extra ones, which win on a clash', () => {
    const source: Tag[] = [
      { Key: 'aws:cloudformation:stack-name', Value: 'shop-prod-data' },
      { Key: 'AWS:Created', Value: 'x' },
      { Key: 'rds:backup', Value: 'y' },
      { Key: 'note', Value: 'aws:reserved-value' },
      { Key: 'app', Value: 'shop' },
      { Key: 'slipway:restore-of', Value: 'an-older-source' },
      { Key: 'env', Value: 'production' },
    ];

    expect(restoreTags(source, SLIPWAY_TAGS)).toEqual([
      { Key: 'app', Value: 'shop' },
      { Key: 'env', Value: 'production' },
      ...SLIPWAY_TAGS,
    ]);
  });

  it('works without source tags', () => {
    expect(restoreTags(undefined, SLIPWAY_TAGS)).toEqual(SLIPWAY_TAGS);
    expect(restoreTags([], [])).toEqual([]);
  });

  it('leaves Tags out of a restore with no tags at all', () => {
    const source = { ...postgres(), TagList: [{ Key: 'aws:cloudformation:stack-name', Value: 'shop-prod-data' }] };

    expect(instanceFromSnapshot(source, SNAPSHOT, TARGET)).not.toHaveProperty('Tags');
  });
});
