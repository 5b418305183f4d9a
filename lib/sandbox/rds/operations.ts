import * as sdk from '@aws-sdk/client-rds';
import type { Sim } from '../sim';
import type { SnapshotRecord, SubnetGroupRecord } from '../state';
import { AwsFault, type Json, type Served } from '../wire';
import { describeExportTasks, startExportTask } from './export-tasks';
import {
  assertNewCluster,
  createDBInstance,
  deleteDBCluster,
  deleteDBInstance,
  describeDBInstances,
  newCluster,
} from './instances';
import { cluster, fault, identifier, inRegion } from './lookup';
import { page, renderCluster, renderSnapshot, renderSubnetGroup } from './render';
import {
  restoreClusterFromSnapshot,
  restoreClusterToPointInTime,
  restoreInstanceFromSnapshot,
  restoreInstanceToPointInTime,
} from './restores';
import { copySnapshot, createSnapshot, deleteSnapshot, describeSnapshots, shown } from './snapshots';

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
