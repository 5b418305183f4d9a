import { type RdsChange, rdsEvent } from '../events';
import { arnOf, envelopeOf, type Sim } from '../sim';
import type {
  DbClusterRecord,
  DbInstanceRecord,
  ExportTaskRecord,
  Millis,
  SnapshotRecord,
  SubnetGroupRecord,
} from '../state';
import type { Json } from '../wire';
import { clusterArn, fault, inRegion, instanceArn, portOf, snapshotArn } from './lookup';

// Rendering

const time = (key: string, value: Millis | undefined) => (value === undefined ? {} : { [key]: new Date(value) });

export function renderSubnetGroup(sim: Sim, group: SubnetGroupRecord): Json {
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

export function restoreWindow(sim: Sim, record: { createdAt: Millis; status: string; settings: Json }) {
  const retention = Number(record.settings.BackupRetentionPeriod ?? 0);
  if (retention === 0 || record.status === 'creating') return {};
  return {
    earliest: Math.max(record.createdAt, sim.now - retention * 86_400_000),
    latest: Math.max(record.createdAt, sim.now - LATEST_RESTORABLE_LAG_MS),
  };
}

export function renderInstance(sim: Sim, record: DbInstanceRecord): Json {
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

export function renderCluster(sim: Sim, record: DbClusterRecord): Json {
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

export function renderSnapshot(sim: Sim, record: SnapshotRecord): Json {
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

export function renderExportTask(record: ExportTaskRecord): Json {
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
export function page<T>(items: T[], input: Json): { items: T[]; marker?: string } {
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

export function emitRds(sim: Sim, region: string, change: RdsChange): void {
  sim.emit(rdsEvent(envelopeOf(sim, sim.now, region), change));
}
