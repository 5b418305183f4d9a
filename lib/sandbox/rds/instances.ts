import { arnOf, type Sim } from '../sim';
import { type DbClusterRecord, type DbInstanceRecord, nextHex, type SubnetGroupRecord } from '../state';
import type { Json } from '../wire';
import {
  cluster,
  fault,
  identifier,
  inRegion,
  instance,
  lastPart,
  portOf,
  securityGroups,
  subnetGroup,
  tagsOf,
} from './lookup';
import { page, renderCluster, renderInstance } from './render';

// Instances and clusters

interface Placement {
  group: SubnetGroupRecord;
  securityGroupIds: string[];
  availabilityZone: string;
}

export function placement(sim: Sim, input: Json, sourceZone?: string): Placement {
  const group = subnetGroup(sim, input.DBSubnetGroupName ?? 'default');
  const zones = group.subnetIds
    .map((id) => sim.state.network.subnets.find((subnet) => subnet.id === id)?.availabilityZone)
    .filter((zone): zone is string => zone !== undefined);
  const wanted = typeof input.AvailabilityZone === 'string' ? input.AvailabilityZone : undefined;
  if (wanted && !zones.includes(wanted)) throw fault.invalid(`No subnet of ${group.name} is in ${wanted}.`);
  const zone = wanted ?? (sourceZone && zones.includes(sourceZone) ? sourceZone : zones[0]) ?? `${sim.region}a`;
  return { group, securityGroupIds: securityGroups(sim, group, input.VpcSecurityGroupIds), availabilityZone: zone };
}

export function assertNewInstance(sim: Sim, id: string): void {
  if (inRegion(sim, sim.state.rds.instances).some((each) => each.identifier === id)) throw fault.instanceExists();
}

export function assertNewCluster(sim: Sim, id: string): void {
  if (inRegion(sim, sim.state.rds.clusters).some((each) => each.identifier === id)) throw fault.clusterExists();
}

export const defined = (value: Json) =>
  Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined));

/** The settings of a new instance: given ones first, then the source's (a snapshot's or an instance's), then RDS's defaults. */
function instanceSettings(sim: Sim, input: Json, from: Json, where: Placement): Json {
  const engine = input.Engine ?? from.Engine;
  const multiAZ = input.MultiAZ === true;
  return defined({
    DBInstanceClass: input.DBInstanceClass ?? from.DBInstanceClass,
    Engine: engine,
    MasterUsername: from.MasterUsername ?? input.MasterUsername,
    ...(input.DBName ? { DBName: input.DBName } : from.DBName ? { DBName: from.DBName } : {}),
    AllocatedStorage: input.AllocatedStorage ?? from.AllocatedStorage,
    PreferredBackupWindow: '03:00-03:30',
    BackupRetentionPeriod: input.BackupRetentionPeriod ?? from.BackupRetentionPeriod ?? 1,
    DBSecurityGroups: [],
    DBParameterGroups: [
      {
        DBParameterGroupName:
          input.DBParameterGroupName ??
          `default.${String(engine)}${String(input.EngineVersion ?? from.EngineVersion ?? '16').split('.')[0]}`,
        ParameterApplyStatus: 'in-sync',
      },
    ],
    AvailabilityZone: multiAZ ? undefined : where.availabilityZone,
    PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    PendingModifiedValues: {},
    MultiAZ: multiAZ,
    EngineVersion: input.EngineVersion ?? from.EngineVersion,
    AutoMinorVersionUpgrade: input.AutoMinorVersionUpgrade ?? from.AutoMinorVersionUpgrade ?? true,
    ReadReplicaDBInstanceIdentifiers: [],
    LicenseModel:
      from.LicenseModel ?? (String(engine).includes('postgres') ? 'postgresql-license' : 'general-public-license'),
    Iops: input.Iops ?? from.Iops,
    StorageThroughput: input.StorageThroughput ?? from.StorageThroughput,
    OptionGroupMemberships: [
      {
        OptionGroupName:
          input.OptionGroupName ??
          from.OptionGroupName ??
          `default:${String(engine)}-${String(input.EngineVersion ?? from.EngineVersion ?? '16').split('.')[0]}`,
        Status: 'in-sync',
      },
    ],
    PubliclyAccessible: input.PubliclyAccessible ?? false,
    StorageType: input.StorageType ?? from.StorageType ?? 'gp2',
    DbInstancePort: input.Port ?? from.Port ?? portOf(engine),
    StorageEncrypted: from.Encrypted ?? from.StorageEncrypted ?? input.StorageEncrypted ?? false,
    KmsKeyId: from.KmsKeyId ?? (input.StorageEncrypted === true ? kmsKey(sim, input.KmsKeyId) : undefined),
    DbiResourceId: `db-${nextHex(sim.state, 26).toUpperCase()}`,
    CACertificateIdentifier: input.CACertificateIdentifier ?? 'rds-ca-rsa2048-g1',
    DomainMemberships: [],
    CopyTagsToSnapshot: input.CopyTagsToSnapshot ?? false,
    MonitoringInterval: 0,
    IAMDatabaseAuthenticationEnabled:
      input.EnableIAMDatabaseAuthentication ?? from.IAMDatabaseAuthenticationEnabled ?? false,
    PerformanceInsightsEnabled: false,
    DeletionProtection: input.DeletionProtection ?? false,
    AssociatedRoles: [],
    NetworkType: 'IPV4',
    EngineLifecycleSupport: input.EngineLifecycleSupport ?? 'open-source-rds-extended-support',
    DedicatedLogVolume: false,
    MultiTenant: false,
    BackupTarget: 'region',
    CustomerOwnedIpEnabled: false,
    ActivityStreamStatus: 'stopped',
    EnabledCloudwatchLogsExports: [],
    // RDS keeps the master password in Secrets Manager when asked to (RDS API Reference, ManageMasterUserPassword).
    MasterUserSecret:
      input.ManageMasterUserPassword === true
        ? {
            SecretArn: arnOf(
              sim,
              'secretsmanager',
              `secret:rds!db-${nextHex(sim.state, 8)}-${nextHex(sim.state, 4)}-${nextHex(sim.state, 4)}-AbCdEf`,
            ),
            SecretStatus: 'active',
            KmsKeyId: kmsKey(sim, input.MasterUserSecretKmsKeyId),
          }
        : from.MasterUserSecret,
  });
}

/** A key given by ARN, alias or id; the account's aws/rds key by default (RDS API Reference, KmsKeyId). */
export function kmsKey(sim: Sim, given: unknown): string {
  if (typeof given === 'string' && given.startsWith('arn:')) return given;
  if (typeof given === 'string') return arnOf(sim, 'kms', `key/${given}`);
  return arnOf(sim, 'kms', 'key/aws-rds-default-0000-4000-8000-000000000000');
}

/** A new instance or cluster: creating, where it was placed, available after `restoreMs`. */
function creating(
  sim: Sim,
  input: Json,
  id: string,
  settings: Json,
  where: Placement,
  origin: DbClusterRecord['origin'],
): DbClusterRecord {
  return {
    region: sim.region,
    identifier: id,
    status: 'creating',
    settings,
    subnetGroup: where.group.name,
    vpcSecurityGroupIds: where.securityGroupIds,
    tags: tagsOf(input.Tags),
    createdAt: sim.now,
    nextAt: sim.now + sim.timings.restoreMs,
    ...(origin ? { origin } : {}),
  };
}

export function newInstance(
  sim: Sim,
  input: Json,
  id: string,
  from: Json,
  where: Placement,
  origin: DbInstanceRecord['origin'],
  extra: Partial<DbInstanceRecord> = {},
): DbInstanceRecord {
  const record: DbInstanceRecord = {
    ...creating(sim, input, id, instanceSettings(sim, input, from, where), where, origin),
    ...extra,
  };
  sim.state.rds.instances.push(record);
  return record;
}

export function createDBInstance(sim: Sim, input: Json): Json {
  const id = identifier(input.DBInstanceIdentifier, 'DBInstanceIdentifier');
  assertNewInstance(sim, id);
  if (typeof input.DBInstanceClass !== 'string') throw fault.missing('DBInstanceClass');
  if (typeof input.Engine !== 'string') throw fault.missing('Engine');
  if (typeof input.DBClusterIdentifier === 'string') {
    // A cluster's instance takes its storage, network and engine from the cluster (an Aurora writer).
    const owner = cluster(sim, input.DBClusterIdentifier);
    if (owner.settings.Engine !== input.Engine) {
      throw fault.combination(
        `The engine ${String(input.Engine)} is not the engine of DB cluster ${owner.identifier}.`,
      );
    }
    const group = subnetGroup(sim, owner.subnetGroup);
    const members = sim.state.rds.instances.filter(
      (each) => each.region === sim.region && each.clusterIdentifier === owner.identifier,
    );
    const record = newInstance(
      sim,
      { ...input, Port: owner.settings.Port },
      id,
      {
        ...owner.settings,
        Encrypted: owner.settings.StorageEncrypted,
        BackupRetentionPeriod: owner.settings.BackupRetentionPeriod,
      },
      {
        group,
        securityGroupIds: owner.vpcSecurityGroupIds,
        availabilityZone: placement(sim, { DBSubnetGroupName: owner.subnetGroup }).availabilityZone,
      },
      { kind: 'create' },
      { clusterIdentifier: owner.identifier, isClusterWriter: !members.some((member) => member.isClusterWriter) },
    );
    return { DBInstance: renderInstance(sim, record) };
  }
  if (input.AllocatedStorage === undefined) throw fault.missing('AllocatedStorage');
  if (typeof input.MasterUsername !== 'string') throw fault.missing('MasterUsername');
  if (input.MasterUserPassword === undefined && input.ManageMasterUserPassword !== true) {
    throw fault.combination('A MasterUserPassword or ManageMasterUserPassword is required.');
  }
  const where = placement(sim, input);
  const record = newInstance(sim, input, id, {}, where, { kind: 'create' });
  return { DBInstance: renderInstance(sim, record) };
}

export function describeDBInstances(sim: Sim, input: Json): Json {
  if (input.DBInstanceIdentifier !== undefined) {
    return { DBInstances: [renderInstance(sim, instance(sim, input.DBInstanceIdentifier))] };
  }
  const filters = (input.Filters as Array<{ Name: string; Values: string[] }> | undefined) ?? [];
  const matching = inRegion(sim, sim.state.rds.instances).filter((record) =>
    filters.every((filter) => {
      if (filter.Name === 'db-cluster-id')
        return filter.Values.some((value) => lastPart(value) === record.clusterIdentifier);
      if (filter.Name === 'db-instance-id') return filter.Values.some((value) => lastPart(value) === record.identifier);
      throw fault.invalid(`Unrecognized filter name: ${filter.Name}`);
    }),
  );
  const { items, marker } = page(matching, input);
  return { DBInstances: items.map((record) => renderInstance(sim, record)), ...(marker ? { Marker: marker } : {}) };
}

export function deleteDBInstance(sim: Sim, input: Json): Json {
  const record = instance(sim, input.DBInstanceIdentifier);
  if (record.settings.DeletionProtection === true) {
    throw fault.combination('Cannot delete protected DB Instance, please disable deletion protection and try again.');
  }
  if (
    !record.clusterIdentifier &&
    input.SkipFinalSnapshot !== true &&
    typeof input.FinalDBSnapshotIdentifier !== 'string'
  ) {
    throw fault.combination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
  }
  if (record.status === 'deleting')
    throw fault.instanceState(`Instance ${record.identifier} is already being deleted.`);
  if (record.status !== 'available' && record.status !== 'failed' && record.status !== 'creating') {
    throw fault.instanceState(`Instance ${record.identifier} is not in available state.`);
  }
  record.status = 'deleting';
  record.nextAt = sim.now + sim.timings.deleteMs;
  return { DBInstance: renderInstance(sim, record) };
}

function clusterSettings(sim: Sim, input: Json, from: Json): Json {
  const engine = input.Engine ?? from.Engine;
  const multiAZCluster = !String(engine).startsWith('aurora');
  return defined({
    AllocatedStorage: multiAZCluster ? (input.AllocatedStorage ?? from.AllocatedStorage ?? 100) : 1,
    AvailabilityZones: [`${sim.region}a`, `${sim.region}b`, `${sim.region}c`],
    BackupRetentionPeriod: input.BackupRetentionPeriod ?? from.BackupRetentionPeriod ?? 1,
    ...(input.DatabaseName ? { DatabaseName: input.DatabaseName } : {}),
    DBClusterParameterGroup:
      input.DBClusterParameterGroupName ??
      `default.${String(engine)}${String(input.EngineVersion ?? from.EngineVersion ?? '16').split('.')[0]}`,
    MultiAZ: multiAZCluster,
    Engine: engine,
    EngineVersion: input.EngineVersion ?? from.EngineVersion,
    Port: input.Port ?? from.Port ?? portOf(engine),
    MasterUsername: from.MasterUsername ?? input.MasterUsername,
    DBClusterOptionGroupMemberships: [],
    PreferredBackupWindow: '03:00-03:30',
    PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    ReadReplicaIdentifiers: [],
    HostedZoneId: 'Z2R2ITUGPM61AM',
    StorageEncrypted: from.StorageEncrypted ?? input.StorageEncrypted ?? false,
    KmsKeyId: from.KmsKeyId ?? (input.StorageEncrypted === true ? kmsKey(sim, input.KmsKeyId) : undefined),
    DbClusterResourceId: `cluster-${nextHex(sim.state, 26).toUpperCase()}`,
    AssociatedRoles: [],
    IAMDatabaseAuthenticationEnabled:
      input.EnableIAMDatabaseAuthentication ?? from.IAMDatabaseAuthenticationEnabled ?? false,
    EngineMode: 'provisioned',
    DeletionProtection: input.DeletionProtection ?? false,
    HttpEndpointEnabled: false,
    CopyTagsToSnapshot: input.CopyTagsToSnapshot ?? false,
    CrossAccountClone: false,
    DomainMemberships: [],
    StorageType: input.StorageType ?? from.StorageType ?? (multiAZCluster ? 'io1' : 'aurora'),
    Iops: input.Iops ?? from.Iops,
    DBClusterInstanceClass: multiAZCluster ? (input.DBClusterInstanceClass ?? from.DBClusterInstanceClass) : undefined,
    PubliclyAccessible: multiAZCluster ? (input.PubliclyAccessible ?? false) : undefined,
    ServerlessV2ScalingConfiguration: input.ServerlessV2ScalingConfiguration ?? from.ServerlessV2ScalingConfiguration,
    EngineLifecycleSupport: input.EngineLifecycleSupport ?? 'open-source-rds-extended-support',
    NetworkType: 'IPV4',
  });
}

export function newCluster(
  sim: Sim,
  input: Json,
  id: string,
  from: Json,
  origin: DbClusterRecord['origin'],
): DbClusterRecord {
  const where = placement(sim, input);
  const settings = clusterSettings(sim, input, from);
  if (settings.MultiAZ === true && typeof settings.DBClusterInstanceClass !== 'string') {
    throw fault.missing('DBClusterInstanceClass');
  }
  const record: DbClusterRecord = creating(sim, input, id, settings, where, origin);
  sim.state.rds.clusters.push(record);
  // A Multi-AZ DB cluster comes with its writer and two readers; an Aurora cluster with none.
  if (settings.MultiAZ === true) {
    for (let index = 1; index <= 3; index += 1) {
      newInstance(
        sim,
        { DBInstanceClass: settings.DBClusterInstanceClass, Engine: settings.Engine, Port: settings.Port },
        `${id}-instance-${index}`,
        { ...settings, Encrypted: settings.StorageEncrypted },
        { ...where, availabilityZone: `${sim.region}${'abc'[index - 1]}` },
        { kind: 'create' },
        { clusterIdentifier: id, isClusterWriter: index === 1 },
      );
    }
  }
  return record;
}

export function deleteDBCluster(sim: Sim, input: Json): Json {
  const record = cluster(sim, input.DBClusterIdentifier);
  if (record.settings.DeletionProtection === true) {
    throw fault.combination('Cannot delete protected Cluster, please disable deletion protection and try again.');
  }
  if (input.SkipFinalSnapshot !== true && typeof input.FinalDBSnapshotIdentifier !== 'string') {
    throw fault.combination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
  }
  const members = sim.state.rds.instances.filter(
    (each) => each.region === sim.region && each.clusterIdentifier === record.identifier,
  );
  if (record.settings.MultiAZ !== true && members.some((member) => member.status !== 'deleting')) {
    throw fault.clusterState('Cluster cannot be deleted, it still contains DB instances in non-deleting state.');
  }
  for (const member of members) {
    member.status = 'deleting';
    member.nextAt = sim.now + sim.timings.deleteMs;
  }
  record.status = 'deleting';
  record.nextAt = sim.now + sim.timings.deleteMs;
  return { DBCluster: renderCluster(sim, record) };
}
