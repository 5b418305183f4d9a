import * as sdk from '@aws-sdk/client-rds';
import type { Sim } from '../sim';
import type { Millis } from '../state';
import { AwsFault, type Json } from '../wire';
import { assertNewCluster, assertNewInstance, newCluster, newInstance, placement } from './instances';
import { cluster, fault, findSnapshot, identifier, instance } from './lookup';
import { renderCluster, renderInstance, restoreWindow } from './render';
import type { SnapshotOrigin } from './snapshots';

// Restores

export function restoreInstanceFromSnapshot(sim: Sim, input: Json): Json {
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

export function restoreInstanceToPointInTime(sim: Sim, input: Json): Json {
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

export function restoreClusterFromSnapshot(sim: Sim, input: Json): Json {
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

export function restoreClusterToPointInTime(sim: Sim, input: Json): Json {
  const source = cluster(sim, input.SourceDBClusterIdentifier);
  const id = identifier(input.DBClusterIdentifier, 'DBClusterIdentifier');
  assertNewCluster(sim, id);
  restoreTime(sim, source, input, 'RestoreToTime', `DB cluster ${source.identifier}`);
  const record = newCluster(sim, input, id, source.settings, { kind: 'point-in-time', source: source.identifier });
  return { DBCluster: renderCluster(sim, record) };
}
