import type {
  CreateDBInstanceCommandInput,
  DBCluster,
  DBInstance,
  RestoreDBClusterFromSnapshotCommandInput,
  RestoreDBClusterToPointInTimeCommandInput,
  RestoreDBInstanceFromDBSnapshotCommandInput,
  RestoreDBInstanceToPointInTimeCommandInput,
  ServerlessV2ScalingConfiguration,
  Tag,
  VpcSecurityGroupMembership,
} from '@aws-sdk/client-rds';
import { InvalidInput, Unprocessable } from '../errors';

/**
 * The exact RDS inputs for a restore, built from what Describe* returned for the source.
 *
 * - A restore always lands in a new identifier; the source is only read. A target equal to the source
 *   identifier (RDS compares them lowercased) is refused, and so is an identifier RDS would refuse.
 * - Without explicit settings RDS restores into defaults: the default VPC security group, the default
 *   parameter group, gp3 storage, a Single-AZ instance, the Region's default engine version for a cluster.
 *   So the network (subnet group, active VPC security groups), the parameter group, the storage and the
 *   availability settings are copied from the source; `overrides` replace what is copied.
 * - A source without a subnet group, an active VPC security group, an instance class or a storage type
 *   (nor an override for it) cannot be reproduced: `Unprocessable`, naming the field.
 * - `default.*` parameter groups and `default:*` option groups are not passed: RDS picks the default that
 *   matches the engine version of the snapshot, which may predate a major upgrade of the source.
 * - Iops go with io1, io2 and gp3; StorageThroughput only with gp3. On gp3 RDS refuses both below the
 *   engine's striping threshold (400 GiB, Oracle 200 GiB, SQL Server any size), where the baseline applies.
 *   AllocatedStorage is copied (not for SQL Server, which takes none) so the restore has the room the
 *   source has grown to, and the threshold is judged on what is requested.
 * - AvailabilityZone is copied only for a Single-AZ result: RDS refuses it with MultiAZ.
 * - DeletionProtection is copied: a restore is how data comes back after a loss, and the copy often
 *   becomes the database of record, so it is protected as the source was. `overrides.deletionProtection`
 *   turns it off for a throwaway copy.
 * - KmsKeyId is never passed: RDS encrypts a restore with the key of the snapshot or source cluster.
 * - No password or secret is copied (MasterUserPassword, MasterUserSecret): the restore keeps the master
 *   password that was in effect at the restore point.
 * - Tags: the source's, minus those RDS reserves (`aws:`, `rds:`), then Slipway's, which win on a clash.
 * - Cluster PITR is a `full-copy`: a copy-on-write clone would share storage pages with the source.
 * - An Aurora cluster is restored without instances; `clusterWriter` plans its writer, named `<cluster>-1`.
 *   A Multi-AZ DB cluster creates its own instances from DBClusterInstanceClass, StorageType and Iops
 *   (RestoreDBClusterFromSnapshot, RDS API Reference: "Valid for: Multi-AZ DB clusters only"), so it
 *   gets no writer; AvailabilityZones, ServerlessV2ScalingConfiguration and the like are Aurora's only.
 */

export interface RestoreOverrides {
  instanceClass?: string;
  multiAZ?: boolean;
  storageType?: string;
  dbSubnetGroupName?: string;
  vpcSecurityGroupIds?: string[];
  /** The instance's parameter group; for an Aurora cluster, its writer's. */
  dbParameterGroupName?: string;
  dbClusterParameterGroupName?: string;
  publiclyAccessible?: boolean;
  deletionProtection?: boolean;
  /** A cluster's engine version; an older snapshot can name its own here. */
  engineVersion?: string;
}

export type RestoreTime = Date | 'latest';

/** Suffix of the writer instance planned for a restored Aurora cluster (as the console's `instance-1`). */
export const WRITER_SUFFIX = '-1';

const SERVERLESS_CLASS = 'db.serverless';
const RESERVED_TAG_PREFIXES = ['aws:', 'rds:'];
const REMOVED_OPTION_GROUP = new Set(['pending-removal', 'pending-maintenance-removal', 'removing']);
// RDS's identifier rules, checked here so that a bad name fails before anything is created.
const IDENTIFIER = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$/;

/** Drops the keys whose value is undefined, so an input never carries an empty parameter. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

function describeInstance(source: DBInstance): string {
  return `DB instance ${source.DBInstanceIdentifier ?? '(unnamed)'}`;
}

function describeCluster(source: DBCluster): string {
  return `DB cluster ${source.DBClusterIdentifier ?? '(unnamed)'}`;
}

function required<T>(value: T | undefined, field: string, owner: string, override?: string): T {
  if (value === undefined || value === null || value === '') {
    const hint = override ? `; pass overrides.${override} to choose one` : '';
    throw new Unprocessable(`${owner} has no ${field} to copy${hint}`, { details: { field } });
  }
  return value;
}

function checkTarget(target: string, sourceIdentifier: string | undefined, what: string): void {
  if (!IDENTIFIER.test(target)) {
    throw new InvalidInput(
      `${target} is not a valid ${what} identifier (1 to 63 letters, digits or hyphens, starting with a letter, no trailing or double hyphen)`,
      { details: { identifier: target } },
    );
  }
  if (sourceIdentifier !== undefined && target.toLowerCase() === sourceIdentifier.toLowerCase()) {
    throw new InvalidInput(`${target} is the source itself; a restore goes into a new ${what}`, {
      details: { identifier: target },
    });
  }
}

function activeGroupIds(groups: VpcSecurityGroupMembership[] | undefined): string[] {
  return (groups ?? []).flatMap((group) =>
    group.Status === 'active' && group.VpcSecurityGroupId ? [group.VpcSecurityGroupId] : [],
  );
}

function securityGroups(
  groups: VpcSecurityGroupMembership[] | undefined,
  override: string[] | undefined,
  owner: string,
): string[] {
  if (override) return override;
  const ids = activeGroupIds(groups);
  if (ids.length === 0) {
    throw new Unprocessable(`${owner} has no active VPC security group to copy; pass overrides.vpcSecurityGroupIds`, {
      details: { field: 'VpcSecurityGroups' },
    });
  }
  return ids;
}

function customParameterGroup(name: string | undefined): string | undefined {
  return name?.startsWith('default.') ? undefined : name;
}

function customOptionGroup(source: DBInstance): string | undefined {
  const current = (source.OptionGroupMemberships ?? []).find(
    (membership) => !REMOVED_OPTION_GROUP.has(membership.Status ?? ''),
  );
  const name = current?.OptionGroupName;
  return name?.startsWith('default:') ? undefined : name;
}

function isReserved(text: string | undefined): boolean {
  const lower = (text ?? '').toLowerCase();
  return RESERVED_TAG_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** The source's tags RDS lets us set again, then `extra`; a key in `extra` replaces the source's. */
export function restoreTags(sourceTags: Tag[] | undefined, extra: Tag[]): Tag[] {
  const extraKeys = new Set(extra.map((tag) => tag.Key));
  const kept = (sourceTags ?? []).filter(
    (tag) => tag.Key && !isReserved(tag.Key) && !isReserved(tag.Value) && !extraKeys.has(tag.Key),
  );
  return [...kept, ...extra];
}

function tagsField(sourceTags: Tag[] | undefined, extra: Tag[] | undefined): { Tags?: Tag[] } {
  const tags = restoreTags(sourceTags, extra ?? []);
  return tags.length > 0 ? { Tags: tags } : {};
}

function gp3Threshold(engine: string | undefined): number {
  if (engine?.startsWith('sqlserver')) return 0;
  if (engine?.startsWith('oracle')) return 200;
  return 400;
}

type InstanceStorage = Pick<
  RestoreDBInstanceFromDBSnapshotCommandInput,
  'StorageType' | 'AllocatedStorage' | 'Iops' | 'StorageThroughput'
>;

function instanceStorage(source: DBInstance, overrides: RestoreOverrides, owner: string): InstanceStorage {
  const sourceType = required(source.StorageType, 'StorageType', owner, 'storageType');
  const storageType = overrides.storageType ?? sourceType;
  const allocated = source.Engine?.startsWith('sqlserver') ? undefined : source.AllocatedStorage;
  const storage: InstanceStorage = { StorageType: storageType, AllocatedStorage: allocated };
  if (storageType === 'io1' || storageType === 'io2') {
    storage.Iops = source.Iops;
  } else if (
    storageType === 'gp3' &&
    sourceType === 'gp3' &&
    (source.AllocatedStorage ?? 0) >= gp3Threshold(source.Engine)
  ) {
    storage.Iops = source.Iops;
    storage.StorageThroughput = source.StorageThroughput;
  }
  return storage;
}

type InstanceSettings = Omit<RestoreDBInstanceFromDBSnapshotCommandInput, 'DBInstanceIdentifier'> &
  Omit<RestoreDBInstanceToPointInTimeCommandInput, 'TargetDBInstanceIdentifier'>;

function instanceSettings(
  source: DBInstance,
  target: string,
  overrides: RestoreOverrides,
  tags: Tag[] | undefined,
): InstanceSettings {
  const owner = describeInstance(source);
  checkTarget(target, source.DBInstanceIdentifier, 'DB instance');
  if (source.DBClusterIdentifier) {
    throw new Unprocessable(`${owner} belongs to DB cluster ${source.DBClusterIdentifier}; restore the cluster`, {
      details: { field: 'DBClusterIdentifier' },
    });
  }
  const multiAZ = overrides.multiAZ ?? source.MultiAZ ?? false;
  return {
    DBInstanceClass: overrides.instanceClass ?? required(source.DBInstanceClass, 'DBInstanceClass', owner),
    DBSubnetGroupName:
      overrides.dbSubnetGroupName ??
      required(source.DBSubnetGroup?.DBSubnetGroupName, 'DBSubnetGroup', owner, 'dbSubnetGroupName'),
    VpcSecurityGroupIds: securityGroups(source.VpcSecurityGroups, overrides.vpcSecurityGroupIds, owner),
    DBParameterGroupName:
      overrides.dbParameterGroupName ?? customParameterGroup(source.DBParameterGroups?.[0]?.DBParameterGroupName),
    OptionGroupName: customOptionGroup(source),
    MultiAZ: multiAZ,
    AvailabilityZone: multiAZ ? undefined : source.AvailabilityZone,
    ...instanceStorage(source, overrides, owner),
    PubliclyAccessible: overrides.publiclyAccessible ?? source.PubliclyAccessible,
    Port: source.Endpoint?.Port,
    CopyTagsToSnapshot: source.CopyTagsToSnapshot,
    DeletionProtection: overrides.deletionProtection ?? source.DeletionProtection,
    EnableIAMDatabaseAuthentication: source.IAMDatabaseAuthenticationEnabled,
    AutoMinorVersionUpgrade: source.AutoMinorVersionUpgrade,
    CACertificateIdentifier: source.CACertificateIdentifier,
    EngineLifecycleSupport: source.EngineLifecycleSupport,
    ...tagsField(source.TagList, tags),
  };
}

export function instanceFromSnapshot(
  source: DBInstance,
  snapshotIdentifier: string,
  targetIdentifier: string,
  overrides: RestoreOverrides = {},
  tags?: Tag[],
): RestoreDBInstanceFromDBSnapshotCommandInput {
  return defined({
    DBInstanceIdentifier: targetIdentifier,
    DBSnapshotIdentifier: snapshotIdentifier,
    ...instanceSettings(source, targetIdentifier, overrides, tags),
  });
}

function checkRestoreTime(
  restoreTime: RestoreTime,
  owner: string,
  window: { earliest?: Date | undefined; latest?: Date | undefined; retentionDays?: number | undefined },
): void {
  if (window.retentionDays === 0) {
    throw new Unprocessable(
      `${owner} keeps no automated backups (BackupRetentionPeriod 0), so it has no point in time`,
      {
        details: { field: 'BackupRetentionPeriod' },
      },
    );
  }
  if (restoreTime === 'latest') return;
  if (Number.isNaN(restoreTime.getTime())) throw new InvalidInput('the restore time is not a valid date');
  const at = restoreTime.toISOString();
  if (window.latest && restoreTime > window.latest) {
    throw new Unprocessable(
      `${owner} can be restored up to ${window.latest.toISOString()} (LatestRestorableTime), not ${at}`,
      { details: { field: 'LatestRestorableTime' } },
    );
  }
  if (window.earliest && restoreTime < window.earliest) {
    throw new Unprocessable(
      `${owner} can be restored from ${window.earliest.toISOString()} (EarliestRestorableTime), not ${at}`,
      { details: { field: 'EarliestRestorableTime' } },
    );
  }
}

export function instanceToPointInTime(
  source: DBInstance,
  restoreTime: RestoreTime,
  targetIdentifier: string,
  overrides: RestoreOverrides = {},
  tags?: Tag[],
): RestoreDBInstanceToPointInTimeCommandInput {
  const owner = describeInstance(source);
  const settings = instanceSettings(source, targetIdentifier, overrides, tags);
  checkRestoreTime(restoreTime, owner, {
    latest: source.LatestRestorableTime,
    retentionDays: source.BackupRetentionPeriod,
  });
  return defined({
    SourceDBInstanceIdentifier: required(source.DBInstanceIdentifier, 'DBInstanceIdentifier', owner),
    TargetDBInstanceIdentifier: targetIdentifier,
    ...(restoreTime === 'latest' ? { UseLatestRestorableTime: true } : { RestoreTime: restoreTime }),
    ...settings,
  });
}

function isAurora(engine: string): boolean {
  return engine.startsWith('aurora');
}

/**
 * A Multi-AZ DB cluster (engine mysql or postgres, with a DBClusterInstanceClass), which RDS restores
 * with its instances, rather than an Aurora cluster, which is restored without any.
 */
export function isMultiAZCluster(source: DBCluster): boolean {
  return !isAurora(required(source.Engine, 'Engine', describeCluster(source)));
}

/** How a restore's source is encrypted: the snapshot's key, or the source's for a point in time. */
export interface Encryption {
  encrypted: boolean;
  kmsKeyId?: string | undefined;
}

/**
 * Restoring an encrypted snapshot or source takes kms:CreateGrant and kms:DescribeKey on its key
 * ("Encrypting Amazon RDS resources", RDS User Guide), which Slipway's roles hold for
 * `databases.<database>.kmsKeyArn` only. Telling the AWS managed key aws/rds from a customer managed
 * one takes a KMS call those roles do not make, so any key other than the configured one is refused:
 * the reason names the key and the config key to set.
 */
export function encryptionKeyProblem(
  encryption: Encryption,
  configured: string | undefined,
  database: string,
  owner: string,
): { reason: string; details: Record<string, string> } | undefined {
  if (!encryption.encrypted) return undefined;
  const key = encryption.kmsKeyId ?? '(a key RDS did not name)';
  if (configured !== undefined && key === configured) return undefined;
  const field = `databases.${database}.kmsKeyArn`;
  return {
    reason: `${owner} is encrypted with KMS key ${key}, ${
      configured === undefined ? `and ${field} is not set` : `not with ${field} (${configured})`
    }: set ${field} to ${key} so that Slipway may use it (kms:CreateGrant, kms:DescribeKey), then restore again`,
    details: { field, kmsKeyId: key },
  };
}

function scaling(source: DBCluster): ServerlessV2ScalingConfiguration | undefined {
  const info = source.ServerlessV2ScalingConfiguration;
  return info
    ? defined({
        MinCapacity: info.MinCapacity,
        MaxCapacity: info.MaxCapacity,
        SecondsUntilAutoPause: info.SecondsUntilAutoPause,
      })
    : undefined;
}

type ClusterSettings = Omit<
  RestoreDBClusterFromSnapshotCommandInput,
  'DBClusterIdentifier' | 'SnapshotIdentifier' | 'Engine'
> &
  Omit<RestoreDBClusterToPointInTimeCommandInput, 'DBClusterIdentifier'>;

function clusterSettings(
  source: DBCluster,
  target: string,
  overrides: RestoreOverrides,
  tags: Tag[] | undefined,
): ClusterSettings {
  const owner = describeCluster(source);
  checkTarget(target, source.DBClusterIdentifier, 'DB cluster');
  // Aurora or a Multi-AZ DB cluster: the engine decides which settings exist.
  const multiAZCluster = !isAurora(required(source.Engine, 'Engine', owner));
  return {
    DBSubnetGroupName:
      overrides.dbSubnetGroupName ?? required(source.DBSubnetGroup, 'DBSubnetGroup', owner, 'dbSubnetGroupName'),
    VpcSecurityGroupIds: securityGroups(source.VpcSecurityGroups, overrides.vpcSecurityGroupIds, owner),
    DBClusterParameterGroupName:
      overrides.dbClusterParameterGroupName ?? customParameterGroup(source.DBClusterParameterGroup),
    Port: source.Port,
    StorageType: overrides.storageType ?? source.StorageType,
    DBClusterInstanceClass: multiAZCluster
      ? (overrides.instanceClass ?? required(source.DBClusterInstanceClass, 'DBClusterInstanceClass', owner))
      : undefined,
    Iops: source.Iops,
    PubliclyAccessible: multiAZCluster ? (overrides.publiclyAccessible ?? source.PubliclyAccessible) : undefined,
    ServerlessV2ScalingConfiguration: scaling(source),
    CopyTagsToSnapshot: source.CopyTagsToSnapshot,
    DeletionProtection: overrides.deletionProtection ?? source.DeletionProtection,
    EnableIAMDatabaseAuthentication: source.IAMDatabaseAuthenticationEnabled,
    EngineLifecycleSupport: source.EngineLifecycleSupport,
    ...tagsField(source.TagList, tags),
  };
}

export function clusterFromSnapshot(
  source: DBCluster,
  snapshotIdentifier: string,
  targetIdentifier: string,
  overrides: RestoreOverrides = {},
  tags?: Tag[],
): RestoreDBClusterFromSnapshotCommandInput {
  const owner = describeCluster(source);
  const settings = clusterSettings(source, targetIdentifier, overrides, tags);
  // The engine version matters here: without it RDS restores into the Region's default version.
  return defined({
    DBClusterIdentifier: targetIdentifier,
    SnapshotIdentifier: snapshotIdentifier,
    Engine: source.Engine,
    EngineVersion: overrides.engineVersion ?? required(source.EngineVersion, 'EngineVersion', owner, 'engineVersion'),
    ...settings,
  });
}

export function clusterToPointInTime(
  source: DBCluster,
  restoreTime: RestoreTime,
  targetIdentifier: string,
  overrides: RestoreOverrides = {},
  tags?: Tag[],
): RestoreDBClusterToPointInTimeCommandInput {
  const owner = describeCluster(source);
  const settings = clusterSettings(source, targetIdentifier, overrides, tags);
  checkRestoreTime(restoreTime, owner, {
    earliest: source.EarliestRestorableTime,
    latest: source.LatestRestorableTime,
    retentionDays: source.BackupRetentionPeriod,
  });
  return defined({
    DBClusterIdentifier: targetIdentifier,
    SourceDBClusterIdentifier: required(source.DBClusterIdentifier, 'DBClusterIdentifier', owner),
    RestoreType: 'full-copy',
    ...(restoreTime === 'latest' ? { UseLatestRestorableTime: true } : { RestoreToTime: restoreTime }),
    ...settings,
  });
}

/** The member the caller should describe before planning the writer of a restored copy. */
export function sourceWriterIdentifier(source: DBCluster): string {
  const writer = (source.DBClusterMembers ?? []).find((member) => member.IsClusterWriter);
  return required(writer?.DBInstanceIdentifier, 'writer instance (DBClusterMembers)', describeCluster(source));
}

/** The writer instance a restored Aurora cluster needs (a restored cluster has no instances). */
export function clusterWriter(
  source: DBCluster,
  writer: DBInstance | undefined,
  clusterIdentifier: string,
  overrides: RestoreOverrides = {},
  tags?: Tag[],
): CreateDBInstanceCommandInput {
  const owner = describeCluster(source);
  const engine = required(source.Engine, 'Engine', owner);
  if (!isAurora(engine)) {
    throw new Unprocessable(`${owner} is a Multi-AZ DB cluster (${engine}); it creates its own instances`, {
      details: { field: 'Engine' },
    });
  }
  checkTarget(clusterIdentifier, source.DBClusterIdentifier, 'DB cluster');
  const instanceIdentifier = `${clusterIdentifier}${WRITER_SUFFIX}`;
  checkTarget(instanceIdentifier, writer?.DBInstanceIdentifier, 'DB instance');
  if (writer && writer.DBInstanceIdentifier !== sourceWriterIdentifier(source)) {
    throw new Unprocessable(
      `${describeInstance(writer)} is not the writer of ${owner} (${sourceWriterIdentifier(source)} is)`,
      { details: { field: 'DBClusterMembers' } },
    );
  }
  const instanceClass =
    overrides.instanceClass ??
    writer?.DBInstanceClass ??
    (source.ServerlessV2ScalingConfiguration ? SERVERLESS_CLASS : undefined);
  if (instanceClass === undefined) {
    throw new Unprocessable(
      `${owner} is provisioned and its writer was not described; describe ${sourceWriterIdentifier(source)} or pass overrides.instanceClass`,
      { details: { field: 'DBInstanceClass' } },
    );
  }
  if (instanceClass === SERVERLESS_CLASS && !source.ServerlessV2ScalingConfiguration) {
    throw new Unprocessable(`${owner} has no ServerlessV2ScalingConfiguration for a ${SERVERLESS_CLASS} writer`, {
      details: { field: 'ServerlessV2ScalingConfiguration' },
    });
  }
  return defined({
    DBInstanceIdentifier: instanceIdentifier,
    DBClusterIdentifier: clusterIdentifier,
    Engine: engine,
    DBInstanceClass: instanceClass,
    DBParameterGroupName:
      overrides.dbParameterGroupName ?? customParameterGroup(writer?.DBParameterGroups?.[0]?.DBParameterGroupName),
    PubliclyAccessible: overrides.publiclyAccessible ?? writer?.PubliclyAccessible,
    AutoMinorVersionUpgrade: writer?.AutoMinorVersionUpgrade,
    CACertificateIdentifier: writer?.CACertificateIdentifier,
    ...tagsField(writer?.TagList ?? source.TagList, tags),
  });
}
