import type { Sim } from '../sim';
import type { SnapshotRecord } from '../state';
import type { Json } from '../wire';
import { defined, kmsKey } from './instances';
import { cluster, fault, findSnapshot, identifier, inRegion, instance, lastPart, snapshotArn, tagsOf } from './lookup';
import { emitRds } from './render';

// Snapshots

const INSTANCE_SNAPSHOT_FIELDS = [
  'Engine',
  'AllocatedStorage',
  'MasterUsername',
  'EngineVersion',
  'LicenseModel',
  'Iops',
  'StorageThroughput',
  'StorageType',
  'IAMDatabaseAuthenticationEnabled',
  'DbiResourceId',
  'DedicatedLogVolume',
  'MultiTenant',
  'BackupRetentionPeriod',
  'PreferredBackupWindow',
];
const CLUSTER_SNAPSHOT_FIELDS = [
  'AvailabilityZones',
  'Engine',
  'EngineMode',
  'AllocatedStorage',
  'Port',
  'MasterUsername',
  'EngineVersion',
  'StorageEncrypted',
  'KmsKeyId',
  'IAMDatabaseAuthenticationEnabled',
  'StorageType',
  'DbClusterResourceId',
  'BackupRetentionPeriod',
  'PreferredBackupWindow',
];

const pick = (from: Json, keys: string[]) => defined(Object.fromEntries(keys.map((key) => [key, from[key]])));

/** What a restore needs that DescribeDBSnapshots does not show: the source's class and network. */
export interface SnapshotOrigin {
  DBInstanceClass?: unknown;
  ManageMasterUserPassword?: boolean;
  DBClusterInstanceClass?: unknown;
  ServerlessV2ScalingConfiguration?: unknown;
}

export function createSnapshot(sim: Sim, kind: SnapshotRecord['kind'], input: Json): SnapshotRecord {
  const id = identifier(
    kind === 'cluster' ? input.DBClusterSnapshotIdentifier : input.DBSnapshotIdentifier,
    kind === 'cluster' ? 'DBClusterSnapshotIdentifier' : 'DBSnapshotIdentifier',
  );
  if (findSnapshot(sim, kind, id))
    throw kind === 'cluster' ? fault.clusterSnapshotExists(id) : fault.snapshotExists(id);
  let settings: Json;
  let source: string;
  if (kind === 'cluster') {
    const owner = cluster(sim, input.DBClusterIdentifier);
    if (owner.status !== 'available')
      throw fault.clusterState(`DbCluster ${owner.identifier} is not currently in the available state.`);
    source = owner.identifier;
    const group = sim.state.rds.subnetGroups.find(
      (each) => each.region === owner.region && each.name === owner.subnetGroup,
    );
    settings = {
      ...pick(owner.settings, CLUSTER_SNAPSHOT_FIELDS),
      ...(group ? { VpcId: group.vpcId } : {}),
      ClusterCreateTime: owner.createdAt,
    };
    (settings as Json & { _origin?: SnapshotOrigin })._origin = pick(owner.settings, [
      'DBClusterInstanceClass',
      'ServerlessV2ScalingConfiguration',
    ]);
  } else {
    const owner = instance(sim, input.DBInstanceIdentifier);
    if (owner.clusterIdentifier) {
      throw fault.instanceState(
        'The specified instance is a member of a cluster and a snapshot cannot be created directly. Please use the CreateDBClusterSnapshot API instead.',
      );
    }
    // "The source DB instance must be in the available or storage-optimization state." (RDS API Reference, CreateDBSnapshot)
    if (owner.status !== 'available')
      throw fault.instanceState(`DBInstance ${owner.identifier} is not in available state.`);
    source = owner.identifier;
    const group = sim.state.rds.subnetGroups.find(
      (each) => each.region === owner.region && each.name === owner.subnetGroup,
    );
    settings = {
      ...pick(owner.settings, INSTANCE_SNAPSHOT_FIELDS),
      Port: owner.settings.DbInstancePort,
      AvailabilityZone: owner.settings.AvailabilityZone,
      ...(group ? { VpcId: group.vpcId } : {}),
      InstanceCreateTime: owner.createdAt,
      OptionGroupName: (owner.settings.OptionGroupMemberships as Json[] | undefined)?.[0]?.OptionGroupName,
      Encrypted: owner.settings.StorageEncrypted,
      ...(owner.settings.StorageEncrypted ? { KmsKeyId: owner.settings.KmsKeyId } : {}),
      SnapshotDatabaseTime: sim.now,
    };
    (settings as Json & { _origin?: SnapshotOrigin })._origin = {
      ...pick(owner.settings, ['DBInstanceClass']),
      ManageMasterUserPassword: owner.settings.MasterUserSecret !== undefined,
    };
    // A single-AZ instance shows backing-up while its snapshot is taken (RDS User Guide, "Viewing Amazon RDS DB instance status").
    if (owner.settings.MultiAZ !== true) owner.status = 'backing-up';
  }
  const record: SnapshotRecord = {
    region: sim.region,
    identifier: id,
    kind,
    source,
    status: 'creating',
    type: 'manual',
    createdAt: sim.now,
    capturedAt: sim.now,
    percentProgress: 0,
    settings: defined(settings),
    tags: tagsOf(input.Tags),
    nextAt: sim.now + sim.timings.snapshotMs,
  };
  sim.state.rds.snapshots.push(record);
  if (kind === 'cluster') {
    emitRds(sim, sim.region, {
      detailType: 'RDS DB Cluster Snapshot Event',
      sourceArn: snapshotArn(sim, record),
      sourceIdentifier: id,
      category: 'backup',
      eventId: 'RDS-EVENT-0074',
      message: 'Creating manual cluster snapshot',
    });
  }
  return record;
}

/** The snapshot's settings as the API shows them: without what only restores read. */
export function shown(record: SnapshotRecord): SnapshotRecord {
  const { _origin: _hidden, ...settings } = record.settings as Json & { _origin?: unknown };
  return { ...record, settings };
}

export function describeSnapshots(sim: Sim, kind: SnapshotRecord['kind'], input: Json): SnapshotRecord[] {
  const id = kind === 'cluster' ? input.DBClusterSnapshotIdentifier : input.DBSnapshotIdentifier;
  if (id !== undefined) {
    const found = findSnapshot(sim, kind, id);
    if (!found)
      throw kind === 'cluster' ? fault.clusterSnapshotNotFound(String(id)) : fault.snapshotNotFound(String(id));
    return [found];
  }
  const owner = kind === 'cluster' ? input.DBClusterIdentifier : input.DBInstanceIdentifier;
  return inRegion(sim, sim.state.rds.snapshots).filter(
    (each) =>
      each.kind === kind &&
      (owner === undefined || each.source === lastPart(String(owner)).toLowerCase()) &&
      (input.SnapshotType === undefined || each.type === input.SnapshotType),
  );
}

export function deleteSnapshot(sim: Sim, kind: SnapshotRecord['kind'], reference: unknown): SnapshotRecord {
  const found = findSnapshot(sim, kind, reference);
  if (!found || found.region !== sim.region) {
    throw kind === 'cluster'
      ? fault.clusterSnapshotNotFound(String(reference))
      : fault.snapshotNotFound(String(reference));
  }
  if (found.status !== 'available' && found.status !== 'failed') {
    const message = `Cannot delete the snapshot because it is in the ${found.status} state.`;
    throw kind === 'cluster' ? fault.clusterSnapshotState(message) : fault.snapshotState(message);
  }
  sim.state.rds.snapshots = sim.state.rds.snapshots.filter((each) => each !== found);
  if (kind === 'instance') {
    emitRds(sim, found.region, {
      detailType: 'RDS DB Snapshot Event',
      sourceArn: snapshotArn(sim, found),
      sourceIdentifier: found.identifier,
      category: 'deletion',
      eventId: 'RDS-EVENT-0041',
      message: 'Deleted manual snapshot',
    });
  }
  return { ...found, status: 'deleting' };
}

export function copySnapshot(sim: Sim, kind: SnapshotRecord['kind'], input: Json): SnapshotRecord {
  const sourceReference =
    kind === 'cluster' ? input.SourceDBClusterSnapshotIdentifier : input.SourceDBSnapshotIdentifier;
  const source = findSnapshot(sim, kind, sourceReference);
  if (!source)
    throw kind === 'cluster'
      ? fault.clusterSnapshotNotFound(String(sourceReference))
      : fault.snapshotNotFound(String(sourceReference));
  if (source.status !== 'available') {
    const message = `Snapshot ${source.identifier} is not in available state.`;
    throw kind === 'cluster' ? fault.clusterSnapshotState(message) : fault.snapshotState(message);
  }
  const id = identifier(
    kind === 'cluster' ? input.TargetDBClusterSnapshotIdentifier : input.TargetDBSnapshotIdentifier,
    'TargetDBSnapshotIdentifier',
  );
  if (findSnapshot(sim, kind, id))
    throw kind === 'cluster' ? fault.clusterSnapshotExists(id) : fault.snapshotExists(id);
  const crossRegion = source.region !== sim.region;
  const encrypted = source.settings.Encrypted === true || source.settings.StorageEncrypted === true;
  // An encrypted snapshot copied to another region needs a key of that region (RDS API Reference, CopyDBSnapshot: KmsKeyId).
  if (encrypted && crossRegion && typeof input.KmsKeyId !== 'string') {
    throw fault.combination('KmsKeyId is required to copy an encrypted snapshot to another region.');
  }
  const key = typeof input.KmsKeyId === 'string' ? kmsKey(sim, input.KmsKeyId) : source.settings.KmsKeyId;
  const record: SnapshotRecord = {
    region: sim.region,
    identifier: id,
    kind,
    source: source.source,
    status: crossRegion ? 'pending' : 'creating',
    type: 'manual',
    createdAt: sim.now,
    capturedAt: source.capturedAt,
    percentProgress: 0,
    settings: { ...source.settings, ...(encrypted ? { KmsKeyId: key } : {}) },
    tags: [...(input.CopyTags === true ? source.tags : []), ...tagsOf(input.Tags)],
    copiedFrom: { arn: snapshotArn(sim, source), region: source.region },
    nextAt: sim.now + sim.timings.snapshotMs,
  };
  sim.state.rds.snapshots.push(record);
  return record;
}
