import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import { createDynamoDbClient, documentClient } from '../../lib/aws/clients/dynamodb';
import { Conflict, Unprocessable } from '../../lib/errors';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { dynamoDbIdempotency, type Idempotency, idempotencyRecordKey } from '../../lib/store/idempotency';
import { createStateTable } from '../support/resources';

const TABLE = 'slipway-idempotency-test';
const START = Date.parse('2026-11-22T03:00:00.000Z');

let dynamodb: EmbeddedServer;
let documents: DynamoDBDocumentClient;
let clock: number;
let idempotency: Idempotency;

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  const client = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  await createStateTable(client, TABLE);
  documents = documentClient(client);
  idempotency = dynamoDbIdempotency(documents, TABLE, { now: () => clock });
});

afterAll(() => dynamodb.close());

beforeEach(() => {
  clock = START;
});

/** Each test its own key, so no record of another test answers. */
let keys = 0;
const freshKey = () => `ci-run-${++keys}`;

const stored = async (key: string, scope = 'createDeployment', caller = 'alice') =>
  (
    await documents.send(
      new GetCommand({ TableName: TABLE, Key: idempotencyRecordKey(scope, `${caller}:${key}`), ConsistentRead: true }),
    )
  ).Item;

const deploy = (key: string, run: () => Promise<unknown>, payload: unknown = { body: { app: 'shop', tag: '1.5.0' } }) =>
  idempotency({ scope: 'createDeployment', caller: 'alice', key, payload, run });

/** A call with the payload null, as events make, with or without its Lambda context. */
const once = (key: string, run: () => Promise<unknown>, context?: { getRemainingTimeInMillis: () => number }) =>
  idempotency({ scope: 'createDeployment', caller: 'alice', key, payload: null, context, run });

/** A call that runs until released: a Lambda still at work, or one cut off by its timeout. */
function held<T>(answer: T) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const run = jest.fn(async () => {
    await gate;
    return answer;
  });
  return { run, release };
}

/** A call that claimed the key with `remainingMs` left in its function, and runs on until released. */
async function cutOff<T>(key: string, remainingMs: number, answer: T) {
  const { run, release } = held(answer);
  const pending = once(key, run, { getRemainingTimeInMillis: () => remainingMs });
  await until(() => run.mock.calls.length === 1);
  return { pending, release };
}

describe('idempotent calls on the state table', () => {
  it('answers a retry with the first answer without running it again', async () => {
    // Given a call that deployed
    const key = freshKey();
    const first = await deploy(key, async () => ({ statusCode: 202, body: '{"id":"dep-1"}' }));

    // When it is retried with the same key and payload a minute later
    clock += 60_000;
    const run = jest.fn(async () => ({ statusCode: 202, body: '{"id":"dep-2"}' }));
    const retried = await deploy(key, run);

    // Then the retry gets the first answer and nothing ran
    expect(retried).toEqual(first);
    expect(run).not.toHaveBeenCalled();
    expect(await stored(key)).toMatchObject({ status: 'COMPLETED', expiresAt: START / 1000 + 24 * 3600 });
  });

  it('keeps scopes and callers apart', async () => {
    const key = freshKey();
    await deploy(key, async () => 'alice deployed');
    const bob = await idempotency({
      scope: 'createDeployment',
      caller: 'bob',
      key,
      payload: null,
      run: async () => 'bob',
    });
    const rollback = await idempotency({
      scope: 'rollbackEnvironment',
      caller: 'alice',
      key,
      payload: null,
      run: async () => 'rolled back',
    });
    expect([bob, rollback]).toEqual(['bob', 'rolled back']);
  });

  it('refuses the same key with a different payload: 422, nothing run', async () => {
    const key = freshKey();
    await deploy(key, async () => 'deployed 1.5.0');
    const run = jest.fn(async () => 'deployed 1.6.0');

    const refused = deploy(key, run, { body: { app: 'shop', tag: '1.6.0' } });

    await expect(refused).rejects.toBeInstanceOf(Unprocessable);
    await expect(refused).rejects.toThrow(
      'this Idempotency-Key was already used with a different request; use a new key',
    );
    expect(run).not.toHaveBeenCalled();
  });

  it('runs exactly one of concurrent calls with one key; the others get 409, then the first answer once it ends', async () => {
    // Given ten calls with one key at once, the first to claim it still running
    const key = freshKey();
    const { run, release } = held('deployed once');
    const calls = Array.from({ length: 10 }, () => deploy(key, run));
    const early = await Promise.allSettled(calls.map((pending) => Promise.race([pending, settledSoon()])));

    // Then one runs and the nine others are refused as in progress
    expect(run).toHaveBeenCalledTimes(1);
    const reasons = early.map((result) => (result.status === 'rejected' ? result.reason : result));
    expect(reasons.filter((reason) => reason === STILL_RUNNING)).toHaveLength(1);
    const refusals = reasons.filter((reason) => reason !== STILL_RUNNING);
    expect(refusals).toHaveLength(9);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(Conflict);
      expect(refusal.message).toBe('a request with this Idempotency-Key is still in progress; retry after it ends');
    }

    // When the running call ends, a retry gets its answer
    release();
    expect((await Promise.allSettled(calls)).filter((result) => result.status === 'fulfilled')).toEqual([
      { status: 'fulfilled', value: 'deployed once' },
    ]);
    await expect(deploy(key, run)).resolves.toBe('deployed once');
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('leaves no record of a failed call, so its retry runs', async () => {
    // Given a call that failed
    const key = freshKey();
    await expect(
      deploy(key, async () => {
        throw new Error('ECS is down');
      }),
    ).rejects.toThrow('ECS is down');

    // Then no record is left, and the retry runs
    expect(await stored(key)).toBeUndefined();
    await expect(deploy(key, async () => 'deployed on retry')).resolves.toBe('deployed on retry');
  });

  it('takes over a call cut off by its function timeout once its in-progress expiry has passed', async () => {
    // Given a call whose function had 3 s left and never finished
    const key = freshKey();
    const zombie = await cutOff(key, 3_000, 'the cut-off call');

    // When it is retried 2 s later it is still in progress; 4 s later it is taken over
    clock += 2_000;
    await expect(once(key, async () => 'too soon')).rejects.toBeInstanceOf(Conflict);
    clock += 2_000;
    expect(await once(key, async () => 'the retry')).toBe('the retry');

    // And the cut-off call, should it ever finish, leaves the retry's answer in place
    zombie.release();
    await expect(zombie.pending).resolves.toBe('the cut-off call');
    expect(await stored(key)).toMatchObject({ status: 'COMPLETED', data: 'the retry' });
  });

  it('lets one of two calls take over an expired record', async () => {
    const key = freshKey();
    const zombie = await cutOff(key, 1_000, 'cut off');
    clock += 5_000;

    const { run, release } = held('taken over');
    const results = await Promise.allSettled([
      Promise.race([once(key, run), settledSoon()]),
      Promise.race([once(key, run), settledSoon()]),
    ]);
    release();
    zombie.release();

    expect(run).toHaveBeenCalledTimes(1);
    const reasons = results.map((result) => (result.status === 'rejected' ? result.reason : result));
    expect(reasons).toContain(STILL_RUNNING);
    expect(reasons.filter((reason) => reason !== STILL_RUNNING)).toEqual([expect.any(Conflict)]);
  });

  it('runs again after the 24 hours a record is kept, though TTL has not deleted it yet', async () => {
    const key = freshKey();
    await deploy(key, async () => 'first');
    clock += 24 * 3600 * 1000 + 1_000;
    await expect(deploy(key, async () => 'a day later', { body: { app: 'shop', tag: '2.0.0' } })).resolves.toBe(
      'a day later',
    );
  });

  it('answers from a record Powertools idempotency completed before the upgrade', async () => {
    // Given the record Powertools 2.35 wrote for alice's createDeployment with key ci-run-4711 (captured on dynalite)
    await documents.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          pk: 'IDEMPOTENCY',
          sk: 'createDeployment#a78dxUUCiISL0kBv1wwOSg==',
          expiresAt: START / 1000 + 3600,
          status: 'COMPLETED',
          in_progress_expiration: START - 60_000,
          validation: '9FmENBcVfk52kNY1XIGgsg==',
          data: { statusCode: 202, headers: { 'content-type': 'application/json' }, body: '{"id":"dep-1"}' },
        },
      }),
    );

    // When the request is retried
    const run = jest.fn(async () => 'ran again');
    const answer = await idempotency({
      scope: 'createDeployment',
      caller: 'alice',
      key: 'ci-run-4711',
      payload: { path: null, body: { app: 'shop', tag: '1.5.0' } },
      run,
    });

    // Then it gets the first answer
    expect(answer).toEqual({
      statusCode: 202,
      headers: { 'content-type': 'application/json' },
      body: '{"id":"dep-1"}',
    });
    expect(run).not.toHaveBeenCalled();
  });
});

/** What a call still running after half a second settles to, beside the refusals that came before it. */
const STILL_RUNNING = new Error('still running');
const settledSoon = () => new Promise<never>((_, reject) => setTimeout(() => reject(STILL_RUNNING), 500));

async function until(condition: () => boolean) {
  for (let tries = 0; tries < 200 && !condition(); tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('condition never held');
}
