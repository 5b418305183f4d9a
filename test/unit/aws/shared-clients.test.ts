import { SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig } from '../../../lib/aws/client-config';
import type { Env } from '../../../lib/aws/endpoints';
import { shared, sharedByRegion } from '../../../lib/aws/shared-clients';

describe('shared clients', () => {
  // A factory of its own per test, as each service's module in lib/aws/clients has one.
  const factory = () => {
    const made: Array<Env | undefined> = [];
    const create = (env?: Env) => {
      made.push(env);
      return new SQSClient(clientConfig('sqs', env));
    };
    return { create, made };
  };

  it('makes one client per factory and container, on first use', () => {
    const { create, made } = factory();

    const first = shared(create);
    const again = shared(create);

    expect(again).toBe(first);
    expect(made).toEqual([undefined]);
  });

  it('makes one client per other region, configured for that region, and the home one for the home region', async () => {
    const { create, made } = factory();
    const byRegion = sharedByRegion(create);
    const home = shared(create);

    const elsewhere = byRegion('ap-southeast-2');

    expect(byRegion(process.env.AWS_REGION ?? 'us-east-1')).toBe(home);
    expect(byRegion('ap-southeast-2')).toBe(elsewhere);
    expect(elsewhere).not.toBe(home);
    expect(made[1]?.AWS_REGION).toBe('ap-southeast-2');
    expect(await elsewhere.config.region()).toBe('ap-southeast-2');
  });
});
