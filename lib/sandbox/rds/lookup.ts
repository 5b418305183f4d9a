import * as sdk from '@aws-sdk/client-rds';
import { arnOf, type Sim } from '../sim';
import type { DbClusterRecord, DbInstanceRecord, SnapshotRecord, SubnetGroupRecord } from '../state';
import { AwsFault } from '../wire';

// Finding things

export const fault = {
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

export function identifier(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw fault.missing(name);
  if (!IDENTIFIER.test(value) || value.endsWith('-')) {
    throw fault.invalid(
      `The parameter ${name} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`,
    );
  }
  // RDS keeps identifiers in lowercase.
  return value.toLowerCase();
}

export const lastPart = (value: string) => value.slice(value.lastIndexOf(':') + 1);
const PORTS: Record<string, number> = {
  postgres: 5432,
  'aurora-postgresql': 5432,
  mysql: 3306,
  'aurora-mysql': 3306,
  mariadb: 3306,
};
export const portOf = (engine: unknown) => PORTS[String(engine)] ?? 5432;

export const instanceArn = (sim: Sim, id: string, region = sim.region) => arnOf(sim, 'rds', `db:${id}`, region);
export const clusterArn = (sim: Sim, id: string, region = sim.region) => arnOf(sim, 'rds', `cluster:${id}`, region);
export const snapshotArn = (sim: Sim, snapshot: Pick<SnapshotRecord, 'kind' | 'identifier' | 'region'>) =>
  arnOf(
    sim,
    'rds',
    `${snapshot.kind === 'cluster' ? 'cluster-snapshot' : 'snapshot'}:${snapshot.identifier}`,
    snapshot.region,
  );

export const inRegion = <T extends { region: string }>(sim: Sim, records: T[]) =>
  records.filter((record) => record.region === sim.region);

export function instance(sim: Sim, id: unknown): DbInstanceRecord {
  const wanted = String(id ?? '').toLowerCase();
  const found = inRegion(sim, sim.state.rds.instances).find((each) => each.identifier === lastPart(wanted));
  if (!found) throw fault.instanceNotFound(String(id));
  return found;
}

export function cluster(sim: Sim, id: unknown): DbClusterRecord {
  const wanted = String(id ?? '').toLowerCase();
  const found = inRegion(sim, sim.state.rds.clusters).find((each) => each.identifier === lastPart(wanted));
  if (!found) throw fault.clusterNotFound(String(id));
  return found;
}

/** A snapshot by identifier, or by ARN in any region (a copy names its source so). */
export function findSnapshot(sim: Sim, kind: SnapshotRecord['kind'], reference: unknown): SnapshotRecord | undefined {
  const wanted = String(reference ?? '');
  return sim.state.rds.snapshots.find(
    (each) =>
      each.kind === kind &&
      (wanted.startsWith('arn:')
        ? snapshotArn(sim, each) === wanted
        : each.region === sim.region && each.identifier === wanted.toLowerCase()),
  );
}

export function subnetGroup(sim: Sim, name: unknown): SubnetGroupRecord {
  const wanted = String(name ?? 'default').toLowerCase();
  const found = inRegion(sim, sim.state.rds.subnetGroups).find((each) => each.name === wanted);
  if (!found) throw fault.subnetGroupNotFound(wanted);
  return found;
}

/** Security groups given, else the default one of the subnet group's VPC (RDS API Reference, VpcSecurityGroupIds). */
export function securityGroups(sim: Sim, group: SubnetGroupRecord, given: unknown): string[] {
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

export const tagsOf = (value: unknown) =>
  ((value as Array<{ Key: string; Value?: string }> | undefined) ?? []).map((tag) => ({
    Key: tag.Key,
    Value: tag.Value ?? '',
  }));
