import { arnOf, type Sim } from '../sim';
import type { ServiceRecord } from '../state';
import { AwsFault } from '../wire';

// Finding things by name or ARN

export const fault = {
  cluster: () => new AwsFault('ClusterNotFoundException', 'Cluster not found.'),
  service: () => new AwsFault('ServiceNotFoundException', 'Service not found.'),
  notActive: () => new AwsFault('ServiceNotActiveException', 'Service was not ACTIVE.'),
  client: (message: string) => new AwsFault('ClientException', message),
  invalid: (message: string) => new AwsFault('InvalidParameterException', message),
};

export const lastPart = (reference: string) => reference.slice(reference.lastIndexOf('/') + 1);
export const ZONES = ['a', 'b'];

export function clusterNameOf(reference: unknown): string {
  return lastPart(typeof reference === 'string' && reference !== '' ? reference : 'default');
}

export function cluster(sim: Sim, reference: unknown) {
  const name = clusterNameOf(reference);
  const found = sim.state.ecs.clusters.find((each) => each.region === sim.region && each.name === name);
  if (!found) throw fault.cluster();
  return found;
}

export function findService(sim: Pick<Sim, 'state' | 'region'>, clusterRef: unknown, serviceRef: unknown) {
  const clusterName = clusterNameOf(clusterRef);
  const name = lastPart(String(serviceRef ?? ''));
  return sim.state.ecs.services.find(
    (service) =>
      service.region === sim.region &&
      service.cluster === clusterName &&
      service.name === name &&
      service.status !== 'INACTIVE',
  );
}

/** A task definition by ARN, `family:revision`, or family (its latest ACTIVE revision). */
export function findTaskDefinition(sim: Pick<Sim, 'state' | 'region'>, reference: unknown) {
  const wanted = String(reference ?? '');
  const name = wanted.startsWith('arn:') ? lastPart(wanted) : wanted;
  const [family, revision] = name.split(':');
  const inRegion = sim.state.ecs.taskDefinitions.filter((each) => each.region === sim.region && each.family === family);
  if (revision !== undefined) return inRegion.find((each) => String(each.revision) === revision);
  return inRegion.filter((each) => each.status === 'ACTIVE').sort((a, b) => b.revision - a.revision)[0];
}

export const serviceArn = (sim: Pick<Sim, 'state'>, service: ServiceRecord) =>
  arnOf({ state: sim.state, region: service.region }, 'ecs', `service/${service.cluster}/${service.name}`);
export const clusterArn = (sim: Pick<Sim, 'state'>, region: string, name: string) =>
  arnOf({ state: sim.state, region }, 'ecs', `cluster/${name}`);
