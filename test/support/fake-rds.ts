import { readFileSync } from 'node:fs';
import {
  CopyDBSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  type DBInstance,
  type DBSnapshot,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  DescribeExportTasksCommand,
  type DescribeExportTasksCommandInput,
  type ExportTask,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
  StartExportTaskCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import type { Operation, Place } from '../../lib/aws/account-credentials';

/**
 * RDS in two regions, kept in memory so a flow sees its own effects: snapshots are created
 * `creating` and made `available` by the test, copies appear in the other region, restores
 * create instances, a deleted instance stays `deleting` until the test removes it. Every call is
 * an aws-sdk-client-mock call, so tests assert exact inputs.
 */

const ACCOUNT = '123456789012';
const fault = (name: string, message: string) => Object.assign(new Error(message), { name, $fault: 'client' });

function fixtureInstance(): DBInstance {
  const described = JSON.parse(readFileSync('test/fixtures/rds/describe-db-instances.postgres.json', 'utf8'));
  const instance = described.DBInstances[0];
  for (const key of ['InstanceCreateTime', 'LatestRestorableTime'])
    if (instance[key]) instance[key] = new Date(instance[key]);
  return instance as DBInstance;
}

export type RefusableCommand = 'StartExportTask' | 'DeleteDBInstance';

export interface RegionState {
  instances: Map<string, DBInstance>;
  snapshots: Map<string, DBSnapshot>;
  exports: Map<string, ExportTask>;
  refusals: Map<RefusableCommand, Error[]>;
}

const mockRds = (client: RDSClient) => mockClient(client);
export type RdsStub = ReturnType<typeof mockRds>;

export interface FakeRds {
  clients: Record<string, RDSClient>;
  stubs: Record<string, RdsStub>;
  regions: Record<string, RegionState>;
  /** The client of the place's region; the fake is one account, the control plane's: another is a mistake. */
  rdsFor: (place: Place, operation: Operation) => RDSClient;
  /** Each place and operation a client was asked for, in order. */
  sessions: Array<{ place: Place; operation: Operation }>;
  source: DBInstance;
  /** Marks a snapshot (or a copy) available, as RDS does when it finishes. */
  finishSnapshot(region: string, identifier: string, status?: string): void;
  /** The next such call in the region fails with `error`, as RDS refuses it; the ones after behave again. */
  refuseNext(region: string, command: RefusableCommand, error: Error): void;
  restore(): void;
}

export function fakeRds(regionNames = ['us-east-1', 'us-west-2']): FakeRds {
  const source = fixtureInstance();
  const regions: Record<string, RegionState> = {};
  const clients: Record<string, RDSClient> = {};
  const stubs: Record<string, RdsStub> = {};
  for (const region of regionNames) {
    regions[region] = { instances: new Map(), snapshots: new Map(), exports: new Map(), refusals: new Map() };
    clients[region] = new RDSClient({ region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    stubs[region] = mockRds(clients[region] as RDSClient);
  }
  const home = regions[regionNames[0] as string] as RegionState;
  home.instances.set(source.DBInstanceIdentifier as string, source);

  for (const region of regionNames) {
    const state = regions[region] as RegionState;
    const stub = stubs[region] as RdsStub;
    const arn = (kind: string, id: string) => `arn:aws:rds:${region}:${ACCOUNT}:${kind}:${id}`;
    const refuseIfAsked = (command: RefusableCommand) => {
      const refusal = state.refusals.get(command)?.shift();
      if (refusal) throw refusal;
    };
    stub.on(DescribeDBInstancesCommand).callsFake((input) => {
      const found = state.instances.get(input.DBInstanceIdentifier ?? '');
      if (!found) throw fault('DBInstanceNotFoundFault', `DBInstance ${input.DBInstanceIdentifier} not found.`);
      return { DBInstances: [found] };
    });
    stub.on(DescribeDBClustersCommand).callsFake((input) => {
      throw fault('DBClusterNotFoundFault', `DBCluster ${input.DBClusterIdentifier} not found.`);
    });
    stub.on(DescribeDBSnapshotsCommand).callsFake((input) => {
      let snapshots = [...state.snapshots.values()];
      if (input.DBSnapshotIdentifier) {
        snapshots = snapshots.filter((snapshot) => snapshot.DBSnapshotIdentifier === input.DBSnapshotIdentifier);
        if (snapshots.length === 0)
          throw fault('DBSnapshotNotFoundFault', `DBSnapshot ${input.DBSnapshotIdentifier} not found.`);
      }
      if (input.DBInstanceIdentifier) {
        snapshots = snapshots.filter((snapshot) => snapshot.DBInstanceIdentifier === input.DBInstanceIdentifier);
      }
      if (input.SnapshotType) snapshots = snapshots.filter((snapshot) => snapshot.SnapshotType === input.SnapshotType);
      return { DBSnapshots: snapshots };
    });
    stub.on(CreateDBSnapshotCommand).callsFake((input) => {
      const id = input.DBSnapshotIdentifier as string;
      if (state.snapshots.has(id))
        throw fault(
          'DBSnapshotAlreadyExistsFault',
          `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`,
        );
      const snapshot: DBSnapshot = {
        DBSnapshotIdentifier: id,
        DBInstanceIdentifier: input.DBInstanceIdentifier,
        DBSnapshotArn: arn('snapshot', id),
        Status: 'creating',
        SnapshotType: 'manual',
        Engine: 'postgres',
        AllocatedStorage: 200,
        Encrypted: true,
        KmsKeyId: source.KmsKeyId,
        SnapshotCreateTime: new Date(),
        TagList: input.Tags ?? [],
      };
      state.snapshots.set(id, snapshot);
      return { DBSnapshot: snapshot };
    });
    stub.on(CopyDBSnapshotCommand).callsFake((input) => {
      const id = input.TargetDBSnapshotIdentifier as string;
      const sourceRegion = (input.SourceDBSnapshotIdentifier ?? '').split(':')[3] as string;
      const original = regions[sourceRegion]?.snapshots.get(
        (input.SourceDBSnapshotIdentifier ?? '').split(':').at(-1) ?? '',
      );
      if (!original) throw fault('DBSnapshotNotFoundFault', 'source snapshot not found');
      const copy: DBSnapshot = {
        ...original,
        DBSnapshotArn: arn('snapshot', id),
        DBSnapshotIdentifier: id,
        Status: 'creating',
        KmsKeyId: input.KmsKeyId,
      };
      state.snapshots.set(id, copy);
      return { DBSnapshot: copy };
    });
    stub.on(DeleteDBSnapshotCommand).callsFake((input) => {
      const found = state.snapshots.get(input.DBSnapshotIdentifier ?? '');
      state.snapshots.delete(input.DBSnapshotIdentifier ?? '');
      return { DBSnapshot: { ...found, Status: 'deleted' } };
    });
    stub.on(StartExportTaskCommand).callsFake((input) => {
      refuseIfAsked('StartExportTask');
      const task: ExportTask = {
        ExportTaskIdentifier: input.ExportTaskIdentifier,
        SourceArn: input.SourceArn,
        Status: 'STARTING',
        S3Bucket: input.S3BucketName,
        S3Prefix: input.S3Prefix,
      };
      state.exports.set(input.ExportTaskIdentifier as string, task);
      return task;
    });
    stub.on(DescribeExportTasksCommand).callsFake((input: DescribeExportTasksCommandInput) => {
      // The status filter takes lowercase values; the tasks carry them uppercase (DescribeExportTasks).
      const statuses = input.Filters?.find((filter) => filter.Name === 'status')?.Values;
      return {
        ExportTasks: [...state.exports.values()].filter(
          (task) =>
            (input.ExportTaskIdentifier === undefined || task.ExportTaskIdentifier === input.ExportTaskIdentifier) &&
            (statuses === undefined || statuses.includes((task.Status ?? '').toLowerCase())),
        ),
      };
    });
    const createInstance = (identifier: string, extra: Partial<DBInstance>) => {
      if (state.instances.has(identifier)) throw fault('DBInstanceAlreadyExistsFault', 'DB instance already exists');
      const instance: DBInstance = {
        ...source,
        ...extra,
        DBInstanceIdentifier: identifier,
        DBInstanceStatus: 'creating',
      };
      state.instances.set(identifier, instance);
      return { DBInstance: instance };
    };
    // A restore lands in the subnet group and security groups it is given, else the defaults (RDS API Reference,
    // RestoreDBInstanceFromDBSnapshot: DBSubnetGroupName, VpcSecurityGroupIds), never silently in the source's.
    const placement = (input: { DBSubnetGroupName?: string; VpcSecurityGroupIds?: string[] }): Partial<DBInstance> => ({
      DBSubnetGroup: { ...source.DBSubnetGroup, DBSubnetGroupName: input.DBSubnetGroupName ?? 'default' },
      VpcSecurityGroups: (input.VpcSecurityGroupIds ?? ['sg-default']).map((id) => ({
        VpcSecurityGroupId: id,
        Status: 'active',
      })),
    });
    stub
      .on(RestoreDBInstanceFromDBSnapshotCommand)
      .callsFake((input) => createInstance(input.DBInstanceIdentifier as string, placement(input)));
    stub
      .on(RestoreDBInstanceToPointInTimeCommand)
      .callsFake((input) => createInstance(input.TargetDBInstanceIdentifier as string, placement(input)));
    stub.on(CreateDBInstanceCommand).callsFake((input) => createInstance(input.DBInstanceIdentifier as string, {}));
    stub.on(DeleteDBInstanceCommand).callsFake((input) => {
      refuseIfAsked('DeleteDBInstance');
      const found = state.instances.get(input.DBInstanceIdentifier ?? '');
      if (!found) throw fault('DBInstanceNotFoundFault', `DBInstance ${input.DBInstanceIdentifier} not found.`);
      if (found.DBInstanceStatus === 'deleting') {
        throw fault('InvalidDBInstanceStateFault', `Instance ${input.DBInstanceIdentifier} is already being deleted.`);
      }
      state.instances.set(input.DBInstanceIdentifier as string, { ...found, DBInstanceStatus: 'deleting' });
      return { DBInstance: { ...found, DBInstanceStatus: 'deleting' } };
    });
  }

  const sessions: FakeRds['sessions'] = [];
  return {
    clients,
    stubs,
    regions,
    source,
    sessions,
    rdsFor: (place, operation) => {
      sessions.push({ place, operation });
      if (place.account !== undefined) throw new Error(`the fake has no account ${place.account}`);
      const region = place.region ?? 'us-east-1';
      const client = clients[region];
      if (!client) throw new Error(`the fake has no region ${region}`);
      return client;
    },
    finishSnapshot: (region, identifier, status = 'available') => {
      const snapshot = regions[region]?.snapshots.get(identifier);
      if (!snapshot) throw new Error(`no snapshot ${identifier} in ${region}`);
      snapshot.Status = status;
    },
    refuseNext: (region, command, error) => {
      const refusals = regions[region]?.refusals;
      if (!refusals) throw new Error(`the fake has no region ${region}`);
      refusals.set(command, [...(refusals.get(command) ?? []), error]);
    },
    restore: () => {
      for (const stub of Object.values(stubs)) stub.restore();
    },
  };
}
