import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { Conflict } from '../../lib/errors';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { EnvironmentLocks } from '../../lib/store/locks';
import { createStateTable } from '../support/resources';

let dynamodb: EmbeddedServer;
let locks: EnvironmentLocks;

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  const client = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  await createStateTable(client, 'slipway-locks-test');
  locks = new EnvironmentLocks(DynamoDBDocumentClient.from(client), 'slipway-locks-test');
});

afterAll(() => dynamodb.close());

const lock = (deploymentId: string, environment = 'production') => ({
  app: 'shop',
  environment,
  deploymentId,
  acquiredAt: '2026-11-22T03:00:00.000Z',
});

describe('environment locks on the state table', () => {
  it('lets exactly one of 50 concurrent deployments take the lock; the 49 others learn who holds it', async () => {
    // Given 50 deployments asking for one environment at once
    const attempts = Array.from({ length: 50 }, (_, index) => locks.acquire(lock(`dep-${index}`, 'race')));

    // When they all settle
    const results = await Promise.allSettled(attempts);

    // Then one won and 49 got a Conflict naming the winner
    const won = results.flatMap((result, index) => (result.status === 'fulfilled' ? [`dep-${index}`] : []));
    expect(won).toHaveLength(1);
    const refusals = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(refusals).toHaveLength(49);
    for (const refusal of refusals) {
      expect(refusal.reason).toBeInstanceOf(Conflict);
      expect(refusal.reason.message).toBe(`shop/race already has a deployment in flight: ${won[0]}`);
      expect(refusal.reason.details).toEqual({ inFlight: won[0] });
    }
  });

  it('is released only by its holder, and can then be taken again', async () => {
    await locks.acquire(lock('dep-a'));
    expect(await locks.release('shop', 'production', 'dep-b')).toBe(false);
    await expect(locks.acquire(lock('dep-c'))).rejects.toThrow('already has a deployment in flight: dep-a');
    expect(await locks.release('shop', 'production', 'dep-a')).toBe(true);
    expect(await locks.release('shop', 'production', 'dep-a')).toBe(false);
    await expect(locks.acquire(lock('dep-c'))).resolves.toBeUndefined();
  });

  it('keeps environments apart', async () => {
    await locks.acquire(lock('dep-s', 'staging'));
    await expect(locks.acquire(lock('dep-q', 'qa'))).resolves.toBeUndefined();
  });
});

describe('listing the locks held', () => {
  it('lists every held lock, oldest first, and forgets released ones', async () => {
    // Given locks in three environments of another app, one of them released
    const held = (deploymentId: string, environment: string, acquiredAt: string) => ({
      app: 'listed',
      environment,
      deploymentId,
      acquiredAt,
    });
    await locks.acquire(held('dep-2', 'b', '2026-11-22T05:00:00.000Z'));
    await locks.acquire(held('dep-1', 'a', '2026-11-22T04:00:00.000Z'));
    await locks.acquire(held('dep-3', 'c', '2026-11-22T06:00:00.000Z'));
    await locks.release('listed', 'c', 'dep-3');

    // When the locks are listed
    const listed = (await locks.list()).filter((lock) => lock.app === 'listed');

    // Then the two held ones come back, oldest first
    expect(listed).toEqual([
      held('dep-1', 'a', '2026-11-22T04:00:00.000Z'),
      held('dep-2', 'b', '2026-11-22T05:00:00.000Z'),
    ]);
  });
});
