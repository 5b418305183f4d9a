import type { Sim } from '../sim';
import type { Millis } from '../state';
import { clusterArn, instanceArn, snapshotArn } from './lookup';
import { emitRds } from './render';

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
