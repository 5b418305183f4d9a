import { type Env, regionFrom } from './endpoints';

type Factory<T> = (env?: Env) => T;

const made = new Map<Factory<object>, Map<string, object>>();

/**
 * The container's one shared client from `create` (a factory of lib/aws/clients/), made on first use;
 * in another region than the control plane's when one is named (repositories, snapshot copies).
 */
export function shared<T extends object>(create: Factory<T>, region: string = regionFrom()): T {
  let byRegion = made.get(create);
  if (!byRegion) {
    byRegion = new Map();
    made.set(create, byRegion);
  }
  let client = byRegion.get(region) as T | undefined;
  if (!client) {
    const env = region === regionFrom() ? undefined : { ...process.env, AWS_REGION: region };
    client = create(env);
    byRegion.set(region, client);
  }
  return client;
}

/** The shared clients of one factory, by region: for what lives wherever config says (repositories, copies). */
export function sharedByRegion<T extends object>(create: Factory<T>): (region: string) => T {
  return (region) => shared(create, region);
}
