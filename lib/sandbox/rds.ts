import * as sdk from '@aws-sdk/client-rds';
import { type RdsChange, rdsEvent } from './events';
import { arnOf, envelopeOf, type Sim } from './sim';
import {
  type DbClusterRecord,
  type DbInstanceRecord,
  type ExportTaskRecord,
  type Millis,
  nextHex,
  type SnapshotRecord,
  type SubnetGroupRecord,
} from './state';
import { AwsFault, type Json, type Served } from './wire';

/**
 * Amazon RDS as Slipway uses it: instances and clusters in DB subnet groups, manual snapshots and their
 * copies, exports, restores from snapshots and to points in time, and the scratch instances drills
 * delete. Answers follow the RDS API Reference of each operation; states follow "Viewing Amazon RDS DB
 * instance status" and the snapshot pages of the RDS User Guide; events are those of "Amazon RDS event
 * categories and event messages", sent when the state they report is reached.
 */

const fault = {
  instanceNotFound: (id: string) => AwsFault.of(sdk.DBInstanceNotFoundFault$, `DBInstance ${id} not found.`),
  instanceExists: () => AwsFault.of(sdk.DBInstanceAlreadyExistsFault$, 'DB instance already exists'),
  instanceState: (message: string) => AwsFault.of(sdk.InvalidDBInstanceStateFault$, message),
  clusterNotFound: (id: string) => AwsFault.of(sdk.DBClusterNotFoundFault$, `DBCluster ${id} not found.`),
  clusterExists: () => AwsFault.of(sdk.DBClusterAlreadyExistsFault$, 'DB Cluster already exists'),
  clusterState: (message: string) => AwsFault.of(sdk.InvalidDBClusterStateFault$, message),
  snapshotNotFound: (id: string) => AwsFault.of(sdk.DBSnapshotNotFoundFault$, `DBSnapshot ${id} not found.`),
  snapshotExists: (id: string) =>
    AwsFault.of(
      sdk.DBSnapshotAlreadyExistsFault$,
      `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`,
    ),
  snapshotState: (message: string) => AwsFault.of(sdk.InvalidDBSnapshotStateFault$, message),
  clusterSnapshotNotFound: (id: string) =>
    AwsFault.of(sdk.DBClusterSnapshotNotFoundFault$, `DBClusterSnapshot ${id} not found.`),
  clusterSnapshotExists: (id: string) =>
    AwsFault.of(
      sdk.DBClusterSnapshotAlreadyExistsFault$,
      `Cannot create the cluster snapshot because one with the identifier ${id} already exists.`,
    ),
  clusterSnapshotState: (message: string) => AwsFault.of(sdk.InvalidDBClusterSnapshotStateFault$, message),
  subnetGroupNotFound: (name: string) =>
    AwsFault.of(sdk.DBSubnetGroupNotFoundFault$, `DBSubnetGroup ${name} not found.`),
  invalid: (message: string) => new AwsFault('InvalidParameterValue', message),
  combination: (message: string) => new AwsFault('InvalidParameterCombination', message),
  missing: (name: string) => new AwsFault('MissingParameter', `The request must contain the parameter ${name}`),
};

/** RDS identifiers: 1 to 63 letters, digits or hyphens, starting with a letter, no hyphen at the end nor two in a row. */
const IDENTIFIER = /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-)){0,62}$/;

function identifier(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw fault.missing(name);
  if (!IDENTIFIER.test(value) || value.endsWith('-')) {
    throw fault.invalid(
      `The parameter ${name} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`,
    );
  }
  // RDS keeps identifiers in lowercase.
  return value.toLowerCase();
}

const lastPart = (value: string) => value.slice(value.lastIndexOf(':') + 1);
const time = (key: string, value: Millis | undefined) => (value === undefined ? {} : { [key]: new Date(value) });
const PORTS: Record<string, number> = {
  postgres: 5432,
  'aurora-postgresql': 5432,
  mysql: 3306,
  'aurora-mysql': 3306,
  mariadb: 3306,
};
const portOf = (engine: unknown) => PORTS[String(engine)] ?? 5432;

const instanceArn = (sim: Sim, id: string, region = sim.region) => arnOf(sim, 'rds', `db:${id}`, region);
const clusterArn = (sim: Sim, id: string, region = sim.region) => arnOf(sim, 'rds', `cluster:${id}`, region);
const snapshotArn = (sim: Sim, snapshot: Pick<SnapshotRecord, 'kind' | 'identifier' | 'region'>) =>
  arnOf(
    sim,
    'rds',
    `${snapshot.kind === 'cluster' ? 'cluster-snapshot' : 'snapshot'}:${snapshot.identifier}`,
    snapshot.region,
  );

// ---------------------------------------------------------------------------------------------
// Finding things

const inRegion = <T extends { region: string }>(sim: Sim, records: T[]) =>
  records.filter((record) => record.region === sim.region);

function instance(sim: Sim, id: unknown): DbInstanceRecord {
  const wanted = String(id ?? '').toLowerCase();
  const found = inRegion(sim, sim.state.rds.instances).find((each) => each.identifier === lastPart(wanted));
  if (!found) throw fault.instanceNotFound(String(id));
  return found;
}

function cluster(sim: Sim, id: unknown): DbClusterRecord {
  const wanted = String(id ?? '').toLowerCase();
  const found = inRegion(sim, sim.state.rds.clusters).find((each) => each.identifier === lastPart(wanted));
  if (!found) throw fault.clusterNotFound(String(id));
  return found;
}

/** A snapshot by identifier, or by ARN in any region (a copy names its source so). */
function findSnapshot(sim: Sim, kind: SnapshotRecord['kind'], reference: unknown): SnapshotRecord | undefined {
  const wanted = String(reference ?? '');
  return sim.state.rds.snapshots.find(
    (each) =>
      each.kind === kind &&
      (wanted.startsWith('arn:')
        ? snapshotArn(sim, each) === wanted
        : each.region === sim.region && each.identifier === wanted.toLowerCase()),
  );
}

function subnetGroup(sim: Sim, name: unknown): SubnetGroupRecord {
  const wanted = String(name ?? 'default').toLowerCase();
  const found = inRegion(sim, sim.state.rds.subnetGroups).find((each) => each.name === wanted);
  if (!found) throw fault.subnetGroupNotFound(wanted);
  return found;
}

/** Security groups given, else the default one of the subnet group's VPC (RDS API Reference, VpcSecurityGroupIds). */
function securityGroups(sim: Sim, group: SubnetGroupRecord, given: unknown): string[] {
  const ids = given as string[] | undefined;
  if (ids && ids.length > 0) {
    for (const id of ids) {
      const known = sim.state.network.securityGroups.find((each) => each.id === id);
      if (!known || known.vpcId !== group.vpcId) {
        throw fault.invalid(`Invalid security group: ${id} is not a security group of ${group.vpcId}.`);
      }
    }
    return ids;
  }
  const fallback = sim.state.network.securityGroups.find(
    (each) => each.vpcId === group.vpcId && each.name === 'default',
  );
  return fallback ? [fallback.id] : [];
}

const tagsOf = (value: unknown) =>
  ((value as Array<{ Key: string; Value?: string }> | undefined) ?? []).map((tag) => ({
    Key: tag.Key,
    Value: tag.Value ?? '',
  }));

// ---------------------------------------------------------------------------------------------
// Rendering

function renderSubnetGroup(sim: Sim, group: SubnetGroupRecord): Json {
  return {
    DBSubnetGroupName: group.name,
    DBSubnetGroupDescription: group.description,
    VpcId: group.vpcId,
    SubnetGroupStatus: 'Complete',
    Subnets: group.subnetIds.map((id) => ({
      SubnetIdentifier: id,
      SubnetAvailabilityZone: { Name: sim.state.network.subnets.find((subnet) => subnet.id === id)?.availabilityZone },
      SubnetOutpost: {},
      SubnetStatus: 'Active',
    })),
    DBSubnetGroupArn: arnOf(sim, 'rds', `subgrp:${group.name}`, group.region),
    SupportedNetworkTypes: ['IPV4'],
  };
}

/** RDS restores to within the last five minutes or so (RDS User Guide, "Restoring a DB instance to a specified time"). */
const LATEST_RESTORABLE_LAG_MS = 5 * 60_000;

function restoreWindow(sim: Sim, record: { createdAt: Millis; status: string; settings: Json }) {
  const retention = Number(record.settings.BackupRetentionPeriod ?? 0);
  if (retention === 0 || record.status === 'creating') return {};
  return {
    earliest: Math.max(record.createdAt, sim.now - retention * 86_400_000),
    latest: Math.max(record.createdAt, sim.now - LATEST_RESTORABLE_LAG_MS),
  };
}

function renderInstance(sim: Sim, record: DbInstanceRecord): Json {
  const group = sim.state.rds.subnetGroups.find(
    (each) => each.region === record.region && each.name === record.subnetGroup,
  );
  const window = restoreWindow(sim, record);
  const port = Number(record.settings.DbInstancePort || portOf(record.settings.Engine));
  return {
    DBInstanceIdentifier: record.identifier,
    ...record.settings,
    DBInstanceStatus: record.status,
    ...(record.status === 'creating'
      ? {}
      : {
          Endpoint: {
            Address: `${record.identifier}.${nextStableSuffix(sim)}.${record.region}.rds.amazonaws.com`,
            Port: port,
            HostedZoneId: 'Z2R2ITUGPM61AM',
          },
        }),
    InstanceCreateTime: new Date(record.createdAt),
    VpcSecurityGroups: record.vpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    ...(group ? { DBSubnetGroup: renderSubnetGroup(sim, group) } : {}),
    ...time('LatestRestorableTime', window.latest),
    ...(record.clusterIdentifier ? { DBClusterIdentifier: record.clusterIdentifier } : {}),
    DBInstanceArn: instanceArn(sim, record.identifier, record.region),
    TagList: record.tags,
  };
}

/** The part of RDS endpoints that is the account's and region's own, the same for every instance. */
function nextStableSuffix(sim: Sim): string {
  return `c${Buffer.from(sim.state.account).toString('hex').slice(0, 11)}`;
}

function renderCluster(sim: Sim, record: DbClusterRecord): Json {
  const window = restoreWindow(sim, record);
  const members = inRegion({ ...sim, region: record.region }, sim.state.rds.instances).filter(
    (each) => each.clusterIdentifier === record.identifier,
  );
  const suffix = nextStableSuffix(sim);
  return {
    DBClusterIdentifier: record.identifier,
    ...record.settings,
    Status: record.status,
    DBSubnetGroup: record.subnetGroup,
    ...time('EarliestRestorableTime', window.earliest),
    ...time('LatestRestorableTime', window.latest),
    Endpoint: `${record.identifier}.cluster-${suffix}.${record.region}.rds.amazonaws.com`,
    ReaderEndpoint: `${record.identifier}.cluster-ro-${suffix}.${record.region}.rds.amazonaws.com`,
    DBClusterMembers: members.map((member) => ({
      DBInstanceIdentifier: member.identifier,
      IsClusterWriter: member.isClusterWriter === true,
      DBClusterParameterGroupStatus: 'in-sync',
      PromotionTier: 1,
    })),
    VpcSecurityGroups: record.vpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    DBClusterArn: clusterArn(sim, record.identifier, record.region),
    ...time('ClusterCreateTime', record.createdAt),
    TagList: record.tags,
  };
}

function renderSnapshot(sim: Sim, record: SnapshotRecord): Json {
  const common = {
    SnapshotCreateTime: new Date(record.capturedAt),
    Status: record.status,
    PercentProgress: record.percentProgress,
    SnapshotType: record.type,
    TagList: record.tags,
  };
  if (record.kind === 'cluster') {
    return {
      DBClusterSnapshotIdentifier: record.identifier,
      DBClusterIdentifier: record.source,
      ...record.settings,
      ...common,
      DBClusterSnapshotArn: snapshotArn(sim, record),
      ...(record.copiedFrom ? { SourceDBClusterSnapshotArn: record.copiedFrom.arn } : {}),
    };
  }
  return {
    DBSnapshotIdentifier: record.identifier,
    DBInstanceIdentifier: record.source,
    ...withTimes(record.settings, ['InstanceCreateTime', 'SnapshotDatabaseTime']),
    ...common,
    DBSnapshotArn: snapshotArn(sim, record),
    ...(record.copiedFrom
      ? { SourceRegion: record.copiedFrom.region, SourceDBSnapshotIdentifier: record.copiedFrom.arn }
      : {}),
    OriginalSnapshotCreateTime: new Date(record.capturedAt),
    SnapshotTarget: 'region',
  };
}

/** Times are kept as epoch milliseconds in the state, which is JSON; the API answers them as timestamps. */
function withTimes(settings: Json, keys: string[]): Json {
  return Object.fromEntries(
    Object.entries(settings).map(([key, value]) => [
      key,
      keys.includes(key) && typeof value === 'number' ? new Date(value) : value,
    ]),
  );
}

function renderExportTask(record: ExportTaskRecord): Json {
  return {
    ExportTaskIdentifier: record.identifier,
    SourceArn: record.sourceArn,
    ...withTimes(record.settings, ['SnapshotTime']),
    TaskStartTime: new Date(record.startedAt),
    ...time('TaskEndTime', record.endedAt),
    Status: record.status,
    PercentProgress: record.percentProgress,
    ...(record.status === 'COMPLETE' ? { TotalExtractedDataInGB: 1 } : {}),
  };
}

/** MaxRecords and Marker, as every RDS Describe pages (MaxRecords 20 to 100, default 100). */
function page<T>(items: T[], input: Json): { items: T[]; marker?: string } {
  const size = input.MaxRecords === undefined ? 100 : Number(input.MaxRecords);
  if (!Number.isInteger(size) || size < 20 || size > 100) throw fault.invalid('MaxRecords must be between 20 and 100.');
  const start = input.Marker ? Number(Buffer.from(String(input.Marker), 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw fault.invalid('Invalid Marker');
  const end = start + size;
  return {
    items: items.slice(start, end),
    ...(end < items.length ? { marker: Buffer.from(String(end)).toString('base64url') } : {}),
  };
}

function emitRds(sim: Sim, region: string, change: RdsChange): void {
  sim.emit(rdsEvent(envelopeOf(sim, sim.now, region), change));
}

// ---------------------------------------------------------------------------------------------
// Instances and clusters

interface Placement {
  group: SubnetGroupRecord;
  securityGroupIds: string[];
  availabilityZone: string;
}

function placement(sim: Sim, input: Json, sourceZone?: string): Placement {
  const group = subnetGroup(sim, input.DBSubnetGroupName ?? 'default');
  const zones = group.subnetIds
    .map((id) => sim.state.network.subnets.find((subnet) => subnet.id === id)?.availabilityZone)
    .filter((zone): zone is string => zone !== undefined);
  const wanted = typeof input.AvailabilityZone === 'string' ? input.AvailabilityZone : undefined;
  if (wanted && !zones.includes(wanted)) throw fault.invalid(`No subnet of ${group.name} is in ${wanted}.`);
  const zone = wanted ?? (sourceZone && zones.includes(sourceZone) ? sourceZone : zones[0]) ?? `${sim.region}a`;
  return { group, securityGroupIds: securityGroups(sim, group, input.VpcSecurityGroupIds), availabilityZone: zone };
}

function assertNewInstance(sim: Sim, id: string): void {
  if (inRegion(sim, sim.state.rds.instances).some((each) => each.identifier === id)) throw fault.instanceExists();
}

function assertNewCluster(sim: Sim, id: string): void {
  if (inRegion(sim, sim.state.rds.clusters).some((each) => each.identifier === id)) throw fault.clusterExists();
}

const defined = (value: Json) => Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined));

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
function kmsKey(sim: Sim, given: unknown): string {
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

function newInstance(
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

function createDBInstance(sim: Sim, input: Json): Json {
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

function describeDBInstances(sim: Sim, input: Json): Json {
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

function deleteDBInstance(sim: Sim, input: Json): Json {
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

function newCluster(sim: Sim, input: Json, id: string, from: Json, origin: DbClusterRecord['origin']): DbClusterRecord {
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

function deleteDBCluster(sim: Sim, input: Json): Json {
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

// ---------------------------------------------------------------------------------------------
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
interface SnapshotOrigin {
  DBInstanceClass?: unknown;
  ManageMasterUserPassword?: boolean;
  DBClusterInstanceClass?: unknown;
  ServerlessV2ScalingConfiguration?: unknown;
}

function createSnapshot(sim: Sim, kind: SnapshotRecord['kind'], input: Json): SnapshotRecord {
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
function shown(record: SnapshotRecord): SnapshotRecord {
  const { _origin: _hidden, ...settings } = record.settings as Json & { _origin?: unknown };
  return { ...record, settings };
}

function describeSnapshots(sim: Sim, kind: SnapshotRecord['kind'], input: Json): SnapshotRecord[] {
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

function deleteSnapshot(sim: Sim, kind: SnapshotRecord['kind'], reference: unknown): SnapshotRecord {
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

function copySnapshot(sim: Sim, kind: SnapshotRecord['kind'], input: Json): SnapshotRecord {
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

// ---------------------------------------------------------------------------------------------
// Restores

function restoreInstanceFromSnapshot(sim: Sim, input: Json): Json {
  const id = identifier(input.DBInstanceIdentifier, 'DBInstanceIdentifier');
  assertNewInstance(sim, id);
  const snapshot = findSnapshot(sim, 'instance', input.DBSnapshotIdentifier);
  if (!snapshot || snapshot.region !== sim.region) throw fault.snapshotNotFound(String(input.DBSnapshotIdentifier));
  if (snapshot.status !== 'available')
    throw fault.snapshotState(`Snapshot ${snapshot.identifier} is not in available state.`);
  const origin = (snapshot.settings._origin as SnapshotOrigin | undefined) ?? {};
  const where = placement(sim, input, String(snapshot.settings.AvailabilityZone ?? ''));
  if (
    input.AllocatedStorage !== undefined &&
    Number(input.AllocatedStorage) < Number(snapshot.settings.AllocatedStorage)
  ) {
    throw fault.invalid("The allocated storage cannot be smaller than the snapshot's.");
  }
  const managed = input.ManageMasterUserPassword ?? origin.ManageMasterUserPassword;
  const record = newInstance(
    sim,
    { ...input, ManageMasterUserPassword: managed },
    id,
    { ...snapshot.settings, DBInstanceClass: origin.DBInstanceClass },
    where,
    {
      kind: 'snapshot',
      snapshot: snapshot.identifier,
    },
  );
  return { DBInstance: renderInstance(sim, record) };
}

function restoreTime(
  sim: Sim,
  source: { createdAt: Millis; status: string; settings: Json },
  input: Json,
  timeKey: string,
  name: string,
): Millis {
  const window = restoreWindow(sim, source);
  if (window.latest === undefined || window.earliest === undefined) {
    throw AwsFault.of(sdk.PointInTimeRestoreNotEnabledFault$, `${name} does not have automated backups enabled.`);
  }
  if (input.UseLatestRestorableTime === true) {
    if (input[timeKey] !== undefined)
      throw fault.combination(`Cannot specify both ${timeKey} and UseLatestRestorableTime.`);
    return window.latest;
  }
  const at = input[timeKey];
  if (!(at instanceof Date)) throw fault.combination(`Either ${timeKey} or UseLatestRestorableTime must be specified.`);
  if (at.getTime() > window.latest || at.getTime() < window.earliest) {
    throw AwsFault.of(
      sdk.InvalidRestoreFault$,
      `Restore time must be between ${new Date(window.earliest).toISOString()} and ${new Date(window.latest).toISOString()}.`,
    );
  }
  return at.getTime();
}

function restoreInstanceToPointInTime(sim: Sim, input: Json): Json {
  const source = instance(sim, input.SourceDBInstanceIdentifier);
  const id = identifier(input.TargetDBInstanceIdentifier, 'TargetDBInstanceIdentifier');
  assertNewInstance(sim, id);
  const at = restoreTime(sim, source, input, 'RestoreTime', `DB instance ${source.identifier}`);
  // Without DBSubnetGroupName the target lands in the default subnet group, not the source's (RDS API Reference).
  const where = placement(sim, input, String(source.settings.AvailabilityZone ?? ''));
  const record = newInstance(
    sim,
    input,
    id,
    {
      ...source.settings,
      Encrypted: source.settings.StorageEncrypted,
      Port: source.settings.DbInstancePort,
      OptionGroupName: undefined,
    },
    where,
    { kind: 'point-in-time', source: source.identifier },
    { restoreTime: at },
  );
  return { DBInstance: renderInstance(sim, record) };
}

function restoreClusterFromSnapshot(sim: Sim, input: Json): Json {
  const id = identifier(input.DBClusterIdentifier, 'DBClusterIdentifier');
  const snapshot = findSnapshot(sim, 'cluster', input.SnapshotIdentifier);
  if (!snapshot) throw fault.clusterSnapshotNotFound(String(input.SnapshotIdentifier));
  if (typeof input.Engine !== 'string') throw fault.missing('Engine');
  assertNewCluster(sim, id);
  if (snapshot.status !== 'available')
    throw fault.clusterSnapshotState(`Snapshot ${snapshot.identifier} is not in available state.`);
  const origin = (snapshot.settings._origin as SnapshotOrigin | undefined) ?? {};
  const record = newCluster(
    sim,
    input,
    id,
    { ...snapshot.settings, ...origin },
    { kind: 'snapshot', snapshot: snapshot.identifier },
  );
  return { DBCluster: renderCluster(sim, record) };
}

function restoreClusterToPointInTime(sim: Sim, input: Json): Json {
  const source = cluster(sim, input.SourceDBClusterIdentifier);
  const id = identifier(input.DBClusterIdentifier, 'DBClusterIdentifier');
  assertNewCluster(sim, id);
  restoreTime(sim, source, input, 'RestoreToTime', `DB cluster ${source.identifier}`);
  const record = newCluster(sim, input, id, source.settings, { kind: 'point-in-time', source: source.identifier });
  return { DBCluster: renderCluster(sim, record) };
}

// ---------------------------------------------------------------------------------------------
// Exports

function startExportTask(sim: Sim, input: Json): Json {
  const id = identifier(input.ExportTaskIdentifier, 'ExportTaskIdentifier');
  if (sim.state.rds.exportTasks.some((each) => each.region === sim.region && each.identifier === id)) {
    throw AwsFault.of(sdk.ExportTaskAlreadyExistsFault$, `The export task with the ID ${id} already exists.`);
  }
  for (const name of ['SourceArn', 'S3BucketName', 'IamRoleArn', 'KmsKeyId'])
    if (typeof input[name] !== 'string') throw fault.missing(name);
  const source = [...sim.state.rds.snapshots].find((each) => snapshotArn(sim, each) === input.SourceArn);
  if (!source) throw fault.snapshotNotFound(String(input.SourceArn));
  if (source.status !== 'available')
    throw AwsFault.of(sdk.InvalidExportSourceStateFault$, `Snapshot ${source.identifier} is not available.`);
  const record: ExportTaskRecord = {
    region: sim.region,
    identifier: id,
    sourceArn: String(input.SourceArn),
    status: 'STARTING',
    settings: defined({
      SnapshotTime: source.capturedAt,
      S3Bucket: input.S3BucketName,
      S3Prefix: input.S3Prefix ?? '',
      IamRoleArn: input.IamRoleArn,
      KmsKeyId: input.KmsKeyId,
      ...(input.ExportOnly ? { ExportOnly: input.ExportOnly } : {}),
      SourceType: source.kind === 'cluster' ? 'CLUSTER' : 'SNAPSHOT',
    }),
    startedAt: sim.now,
    percentProgress: 0,
    nextAt: sim.now + sim.timings.exportMs / 2,
  };
  sim.state.rds.exportTasks.push(record);
  return renderExportTask(record);
}

function describeExportTasks(sim: Sim, input: Json): Json {
  const filters = (input.Filters as Array<{ Name: string; Values: string[] }> | undefined) ?? [];
  const matching = inRegion(sim, sim.state.rds.exportTasks).filter(
    (record) =>
      (input.ExportTaskIdentifier === undefined || record.identifier === input.ExportTaskIdentifier) &&
      (input.SourceArn === undefined || record.sourceArn === input.SourceArn) &&
      filters.every((filter) => {
        if (filter.Name === 'status') return filter.Values.some((value) => value.toUpperCase() === record.status);
        if (filter.Name === 'export-task-identifier') return filter.Values.includes(record.identifier);
        if (filter.Name === 's3-bucket') return filter.Values.includes(String(record.settings.S3Bucket));
        if (filter.Name === 'source-arn') return filter.Values.includes(record.sourceArn);
        throw fault.invalid(`Unrecognized filter name: ${filter.Name}`);
      }),
  );
  if (input.ExportTaskIdentifier !== undefined && matching.length === 0) {
    throw AwsFault.of(
      sdk.ExportTaskNotFoundFault$,
      `The export task with the ID ${String(input.ExportTaskIdentifier)} is not found.`,
    );
  }
  const { items, marker } = page(matching, input);
  return { ExportTasks: items.map(renderExportTask), ...(marker ? { Marker: marker } : {}) };
}

// ---------------------------------------------------------------------------------------------
// What RDS does by itself

/** Snapshots finish, instances and clusters come up or go, exports run, each when due, with their events. */
export function advanceRds(sim: Sim): void {
  const due = (at: Millis | undefined) => at !== undefined && at <= sim.now;
  for (const snapshot of sim.state.rds.snapshots.filter((each) => due(each.nextAt))) {
    if (snapshot.status === 'pending') {
      snapshot.status = 'copying';
      snapshot.nextAt = sim.now + sim.timings.snapshotMs;
      continue;
    }
    snapshot.status = 'available';
    snapshot.percentProgress = 100;
    snapshot.nextAt = undefined;
    const owner = sim.state.rds.instances.find(
      (each) => each.region === snapshot.region && each.identifier === snapshot.source,
    );
    if (
      owner?.status === 'backing-up' &&
      !sim.state.rds.snapshots.some(
        (other) => other !== snapshot && other.source === owner.identifier && other.status === 'creating',
      )
    ) {
      owner.status = 'available';
    }
    if (snapshot.copiedFrom) continue;
    emitRds(sim, snapshot.region, {
      detailType: snapshot.kind === 'cluster' ? 'RDS DB Cluster Snapshot Event' : 'RDS DB Snapshot Event',
      sourceArn: snapshotArn(sim, snapshot),
      sourceIdentifier: snapshot.identifier,
      category: 'creation',
      eventId: snapshot.kind === 'cluster' ? 'RDS-EVENT-0075' : 'RDS-EVENT-0042',
      message: snapshot.kind === 'cluster' ? 'Manual cluster snapshot created' : 'Manual snapshot created',
    });
  }
  for (const record of sim.state.rds.instances.filter((each) => due(each.nextAt))) {
    record.nextAt = undefined;
    if (record.status === 'deleting') {
      sim.state.rds.instances = sim.state.rds.instances.filter((each) => each !== record);
      emitRds(sim, record.region, {
        detailType: 'RDS DB Instance Event',
        sourceArn: instanceArn(sim, record.identifier, record.region),
        sourceIdentifier: record.identifier,
        category: 'deletion',
        eventId: 'RDS-EVENT-0003',
        message: 'DB instance deleted',
      });
      continue;
    }
    record.status = 'available';
    const origin = record.origin;
    emitRds(sim, record.region, {
      detailType: 'RDS DB Instance Event',
      sourceArn: instanceArn(sim, record.identifier, record.region),
      sourceIdentifier: record.identifier,
      ...(origin?.kind === 'snapshot'
        ? { category: 'restoration', eventId: 'RDS-EVENT-0043', message: `Restored from snapshot ${origin.snapshot}` }
        : origin?.kind === 'point-in-time'
          ? {
              category: 'restoration',
              eventId: 'RDS-EVENT-0019',
              message: `Restored from DB instance ${origin.source} to ${record.identifier}`,
            }
          : { category: 'creation', eventId: 'RDS-EVENT-0005', message: 'DB instance created' }),
    });
  }
  for (const record of sim.state.rds.clusters.filter((each) => due(each.nextAt))) {
    record.nextAt = undefined;
    if (record.status === 'deleting') {
      sim.state.rds.clusters = sim.state.rds.clusters.filter((each) => each !== record);
      continue;
    }
    record.status = 'available';
    emitRds(sim, record.region, {
      detailType: 'RDS DB Cluster Event',
      sourceArn: clusterArn(sim, record.identifier, record.region),
      sourceIdentifier: record.identifier,
      category: 'creation',
      eventId: 'RDS-EVENT-0170',
      message: 'DB cluster created.',
    });
  }
  for (const record of sim.state.rds.exportTasks.filter((each) => due(each.nextAt))) {
    if (record.status === 'STARTING') {
      Object.assign(record, { status: 'IN_PROGRESS', percentProgress: 50, nextAt: sim.now + sim.timings.exportMs / 2 });
    } else {
      Object.assign(record, { status: 'COMPLETE', percentProgress: 100, endedAt: sim.now, nextAt: undefined });
    }
  }
}

export function nextRdsChange(sim: Sim): Millis | undefined {
  const { rds } = sim.state;
  const times = [...rds.snapshots, ...rds.instances, ...rds.clusters, ...rds.exportTasks]
    .map((record) => record.nextAt)
    .filter((at): at is Millis => at !== undefined);
  return times.length > 0 ? Math.min(...times) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The operations

export const RDS_XML_NAMESPACE = 'http://rds.amazonaws.com/doc/2014-10-31/';

function createSubnetGroup(sim: Sim, input: Json): Json {
  const name = String(input.DBSubnetGroupName ?? '').toLowerCase();
  if (name === '') throw fault.missing('DBSubnetGroupName');
  if (inRegion(sim, sim.state.rds.subnetGroups).some((each) => each.name === name)) {
    throw AwsFault.of(sdk.DBSubnetGroupAlreadyExistsFault$, `The DB subnet group '${name}' already exists.`);
  }
  const ids = (input.SubnetIds as string[] | undefined) ?? [];
  const subnets = ids.map((id) => {
    const found = sim.state.network.subnets.find((subnet) => subnet.id === id);
    if (!found) throw AwsFault.of(sdk.InvalidSubnet$, `The subnet ${id} does not exist.`);
    return found;
  });
  const vpcs = new Set(subnets.map((subnet) => subnet.vpcId));
  if (vpcs.size !== 1) throw AwsFault.of(sdk.InvalidSubnet$, 'The subnets of a DB subnet group must be in one VPC.');
  if (new Set(subnets.map((subnet) => subnet.availabilityZone)).size < 2) {
    throw AwsFault.of(
      sdk.DBSubnetGroupDoesNotCoverEnoughAZs$,
      "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: 1. Add subnets to cover at least 2 AZs.",
    );
  }
  const record: SubnetGroupRecord = {
    region: sim.region,
    name,
    description: String(input.DBSubnetGroupDescription ?? ''),
    vpcId: [...vpcs][0] as string,
    subnetIds: ids,
  };
  sim.state.rds.subnetGroups.push(record);
  return { DBSubnetGroup: renderSubnetGroup(sim, record) };
}

/** The four snapshot operations of instances (DBSnapshot) or of clusters (DBClusterSnapshot): the same but for names. */
const SNAPSHOT_OPERATIONS = {
  instance: {
    one: 'DBSnapshot',
    many: 'DBSnapshots',
    idKey: 'DBSnapshotIdentifier',
    create: sdk.CreateDBSnapshot$,
    describe: sdk.DescribeDBSnapshots$,
    remove: sdk.DeleteDBSnapshot$,
    copy: sdk.CopyDBSnapshot$,
  },
  cluster: {
    one: 'DBClusterSnapshot',
    many: 'DBClusterSnapshots',
    idKey: 'DBClusterSnapshotIdentifier',
    create: sdk.CreateDBClusterSnapshot$,
    describe: sdk.DescribeDBClusterSnapshots$,
    remove: sdk.DeleteDBClusterSnapshot$,
    copy: sdk.CopyDBClusterSnapshot$,
  },
} as const;

function snapshotOperations(kind: SnapshotRecord['kind']): Record<string, Served<Sim>> {
  const names = SNAPSHOT_OPERATIONS[kind];
  const one = (record: SnapshotRecord, sim: Sim) => ({ [names.one]: renderSnapshot(sim, shown(record)) });
  return {
    [names.create[2]]: { schema: names.create, handle: (input, sim) => one(createSnapshot(sim, kind, input), sim) },
    [names.describe[2]]: {
      schema: names.describe,
      handle: (input, sim) => {
        const { items, marker } = page(describeSnapshots(sim, kind, input), input);
        return {
          [names.many]: items.map((record) => renderSnapshot(sim, shown(record))),
          ...(marker ? { Marker: marker } : {}),
        };
      },
    },
    [names.remove[2]]: {
      schema: names.remove,
      handle: (input, sim) => one(deleteSnapshot(sim, kind, input[names.idKey]), sim),
    },
    [names.copy[2]]: { schema: names.copy, handle: (input, sim) => one(copySnapshot(sim, kind, input), sim) },
  };
}

/** Every RDS operation Slipway calls, and what a database needs to be set up (CreateDBSubnetGroup). */
export const rdsOperations: Record<string, Served<Sim>> = {
  CreateDBSubnetGroup: { schema: sdk.CreateDBSubnetGroup$, handle: (input, sim) => createSubnetGroup(sim, input) },
  CreateDBInstance: { schema: sdk.CreateDBInstance$, handle: (input, sim) => createDBInstance(sim, input) },
  DescribeDBInstances: { schema: sdk.DescribeDBInstances$, handle: (input, sim) => describeDBInstances(sim, input) },
  DeleteDBInstance: { schema: sdk.DeleteDBInstance$, handle: (input, sim) => deleteDBInstance(sim, input) },
  CreateDBCluster: {
    schema: sdk.CreateDBCluster$,
    handle: (input, sim) => {
      const id = identifier(input.DBClusterIdentifier, 'DBClusterIdentifier');
      if (typeof input.Engine !== 'string') throw fault.missing('Engine');
      assertNewCluster(sim, id);
      return { DBCluster: renderCluster(sim, newCluster(sim, input, id, {}, { kind: 'create' })) };
    },
  },
  DescribeDBClusters: {
    schema: sdk.DescribeDBClusters$,
    handle: (input, sim) => {
      if (input.DBClusterIdentifier !== undefined)
        return { DBClusters: [renderCluster(sim, cluster(sim, input.DBClusterIdentifier))] };
      const { items, marker } = page(inRegion(sim, sim.state.rds.clusters), input);
      return { DBClusters: items.map((record) => renderCluster(sim, record)), ...(marker ? { Marker: marker } : {}) };
    },
  },
  DeleteDBCluster: { schema: sdk.DeleteDBCluster$, handle: (input, sim) => deleteDBCluster(sim, input) },
  ...snapshotOperations('instance'),
  ...snapshotOperations('cluster'),
  RestoreDBInstanceFromDBSnapshot: {
    schema: sdk.RestoreDBInstanceFromDBSnapshot$,
    handle: (input, sim) => restoreInstanceFromSnapshot(sim, input),
  },
  RestoreDBInstanceToPointInTime: {
    schema: sdk.RestoreDBInstanceToPointInTime$,
    handle: (input, sim) => restoreInstanceToPointInTime(sim, input),
  },
  RestoreDBClusterFromSnapshot: {
    schema: sdk.RestoreDBClusterFromSnapshot$,
    handle: (input, sim) => restoreClusterFromSnapshot(sim, input),
  },
  RestoreDBClusterToPointInTime: {
    schema: sdk.RestoreDBClusterToPointInTime$,
    handle: (input, sim) => restoreClusterToPointInTime(sim, input),
  },
  StartExportTask: { schema: sdk.StartExportTask$, handle: (input, sim) => startExportTask(sim, input) },
  DescribeExportTasks: { schema: sdk.DescribeExportTasks$, handle: (input, sim) => describeExportTasks(sim, input) },
};
