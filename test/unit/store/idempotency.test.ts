import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { Conflict, Unprocessable } from '../../../lib/errors';
import {
  dynamoDbIdempotency,
  type IdempotencyRecord,
  idempotencyDecision,
  idempotencyHash,
  idempotencyRecordKey,
} from '../../../lib/store/idempotency';

const NOW = Date.parse('2026-11-22T03:00:00.000Z');
const NOW_S = NOW / 1000;
const HASH = 'WTKYP9XITm/1ECJGDFqEjQ==';

const record = (overrides: Partial<IdempotencyRecord>): IdempotencyRecord => ({
  status: 'COMPLETED',
  expiresAt: NOW_S + 3600,
  validation: HASH,
  data: { statusCode: 202 },
  ...overrides,
});

describe('idempotencyDecision', () => {
  it('claims a key nobody holds', () => {
    expect(idempotencyDecision(undefined, HASH, NOW)).toEqual({ action: 'claim', over: 'nothing' });
  });

  it('answers a retry with the first answer', () => {
    expect(idempotencyDecision(record({}), HASH, NOW)).toEqual({ action: 'answer', answer: { statusCode: 202 } });
  });

  it('refuses the same key with another payload, finished or not', () => {
    expect(idempotencyDecision(record({ validation: 'other' }), HASH, NOW)).toEqual({
      action: 'refuse',
      because: 'other-payload',
    });
    expect(
      idempotencyDecision(record({ status: 'INPROGRESS', validation: 'other', data: undefined }), HASH, NOW),
    ).toEqual({ action: 'refuse', because: 'other-payload' });
  });

  it('refuses a call while the first is in progress, until its in-progress expiry', () => {
    const running = record({ status: 'INPROGRESS', in_progress_expiration: NOW + 1, data: undefined });
    expect(idempotencyDecision(running, HASH, NOW)).toEqual({ action: 'refuse', because: 'in-progress' });
    expect(idempotencyDecision(running, HASH, NOW + 2)).toEqual({ action: 'claim', over: 'expired' });
  });

  it('holds an in-progress record with no in-progress expiry (no Lambda context) until the record expires', () => {
    const running = record({ status: 'INPROGRESS', data: undefined });
    expect(idempotencyDecision(running, HASH, NOW + 3_599_000)).toEqual({ action: 'refuse', because: 'in-progress' });
    expect(idempotencyDecision(running, HASH, NOW + 3_601_000)).toEqual({ action: 'claim', over: 'expired' });
  });

  it('takes a record past expiresAt as gone, since TTL deletes it only later, and not a second before', () => {
    expect(idempotencyDecision(record({ expiresAt: NOW_S }), HASH, NOW)).toEqual({
      action: 'answer',
      answer: { statusCode: 202 },
    });
    expect(idempotencyDecision(record({ expiresAt: NOW_S - 1 }), HASH, NOW)).toEqual({
      action: 'claim',
      over: 'expired',
    });
    expect(idempotencyDecision(record({ expiresAt: NOW_S - 1, validation: 'other' }), HASH, NOW)).toEqual({
      action: 'claim',
      over: 'expired',
    });
  });

  it('answers from a completed record whose old in-progress expiry has passed', () => {
    // Powertools left in_progress_expiration on the records it completed.
    const completed = record({ in_progress_expiration: NOW - 60_000 });
    expect(idempotencyDecision(completed, HASH, NOW)).toEqual({ action: 'answer', answer: { statusCode: 202 } });
  });
});

describe('the names and hashes of idempotency records', () => {
  it('are those Powertools idempotency 2.35 wrote, so a retry across the upgrade finds its record', () => {
    // Computed with Powertools' DynamoDBPersistenceLayer (keyPrefix createDeployment, md5) before it was removed.
    expect(idempotencyRecordKey('createDeployment', 'alice:ci-run-4711')).toEqual({
      pk: 'IDEMPOTENCY',
      sk: 'createDeployment#a78dxUUCiISL0kBv1wwOSg==',
    });
    const payload = {
      path: null,
      body: {
        tag: '1.5.0',
        app: 'shop',
        environment: 'production',
        reason: undefined,
        nested: { B: 1, a: [{ z: 1, y: 2 }] },
      },
    };
    expect(idempotencyHash(payload)).toBe(HASH);
    expect(idempotencyHash(null)).toBe('N6YlnMDB2uKZp4Zkid/wvQ==');
  });

  it('do not depend on the order of an object keys', () => {
    expect(idempotencyHash({ body: { tag: '1', app: 'shop' }, path: null })).toBe(
      idempotencyHash({ path: null, body: { app: 'shop', tag: '1' } }),
    );
    expect(idempotencyHash({ body: { tag: '1' } })).not.toBe(idempotencyHash({ body: { tag: '2' } }));
  });
});

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(documents);
const idempotency = dynamoDbIdempotency(documents, 'slipway-prod-state', { now: () => NOW });
const KEY = { pk: 'IDEMPOTENCY', sk: 'createDeployment#a78dxUUCiISL0kBv1wwOSg==' };
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const call = (run: () => Promise<unknown>, context?: { getRemainingTimeInMillis: () => number }) =>
  idempotency({ scope: 'createDeployment', caller: 'alice', key: 'ci-run-4711', payload: null, context, run });

beforeEach(() => dynamo.reset());

describe('dynamoDbIdempotency against the DynamoDB API', () => {
  it('claims the key with a conditional put, in progress until the Lambda context runs out, then writes the answer', async () => {
    // Given no record under the key
    dynamo.on(PutCommand).resolves({});

    // When a call with 29 s of its function left runs
    const answer = await call(async () => ({ statusCode: 202 }), { getRemainingTimeInMillis: () => 29_000 });

    // Then it claimed the key, ran, and stored its answer for this attempt only
    expect(answer).toEqual({ statusCode: 202 });
    const [claim, completion] = dynamo.commandCalls(PutCommand).map((put) => put.args[0].input);
    const attempt = claim?.Item?.attempt;
    expect(attempt).toEqual(expect.any(String));
    expect(claim).toEqual({
      TableName: 'slipway-prod-state',
      Item: {
        ...KEY,
        status: 'INPROGRESS',
        expiresAt: NOW_S + 24 * 3600,
        in_progress_expiration: NOW + 29_000,
        validation: 'N6YlnMDB2uKZp4Zkid/wvQ==',
        attempt,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(completion).toEqual({
      TableName: 'slipway-prod-state',
      Item: {
        ...KEY,
        status: 'COMPLETED',
        expiresAt: NOW_S + 24 * 3600,
        validation: 'N6YlnMDB2uKZp4Zkid/wvQ==',
        data: { statusCode: 202 },
        attempt,
      },
      ConditionExpression: 'attempt = :attempt',
      ExpressionAttributeValues: { ':attempt': attempt },
    });
    expect(dynamo).not.toHaveReceivedCommand(GetCommand);
  });

  it('claims with no in-progress expiry when there is no Lambda context', async () => {
    dynamo.on(PutCommand).resolves({});
    await call(async () => 'done');
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item).not.toHaveProperty('in_progress_expiration');
  });

  it('reads the record consistently when the claim fails, and answers from it without running', async () => {
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { ...KEY, ...record({ validation: 'N6YlnMDB2uKZp4Zkid/wvQ==' }) } });
    const run = jest.fn(async () => 'again');

    await expect(call(run)).resolves.toEqual({ statusCode: 202 });

    expect(run).not.toHaveBeenCalled();
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'slipway-prod-state',
      Key: KEY,
      ConsistentRead: true,
    });
  });

  it('maps another payload to 422 and a call in progress to 409, with the messages the API documents', async () => {
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { ...KEY, ...record({ validation: 'other' }) } });
    const refused = call(async () => 'never');
    await expect(refused).rejects.toBeInstanceOf(Unprocessable);
    await expect(refused).rejects.toThrow(
      'this Idempotency-Key was already used with a different request; use a new key',
    );

    dynamo.on(GetCommand).resolves({
      Item: { ...KEY, ...record({ status: 'INPROGRESS', validation: 'N6YlnMDB2uKZp4Zkid/wvQ==', data: undefined }) },
    });
    const busy = call(async () => 'never');
    await expect(busy).rejects.toBeInstanceOf(Conflict);
    await expect(busy).rejects.toThrow('a request with this Idempotency-Key is still in progress; retry after it ends');
  });

  it('takes over an expired record only while it is still expired', async () => {
    // Given an in-progress record whose function timed out a minute ago
    dynamo.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
    dynamo.on(GetCommand).resolves({
      Item: {
        ...KEY,
        ...record({ status: 'INPROGRESS', in_progress_expiration: NOW - 60_000, data: undefined }),
      },
    });

    // When the key is used again
    await expect(call(async () => 'ran')).resolves.toBe('ran');

    // Then the takeover is conditioned on the record being expired at the time of the write
    expect(dynamo.commandCalls(PutCommand)[1]?.args[0].input).toMatchObject({
      ConditionExpression: 'expiresAt < :now OR (#status = :inProgress AND in_progress_expiration < :nowMs)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':now': NOW_S, ':nowMs': NOW, ':inProgress': 'INPROGRESS' },
    });
  });

  it('answers 409 when the record keeps changing under three claims', async () => {
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({});
    await expect(call(async () => 'never')).rejects.toBeInstanceOf(Conflict);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(3);
  });

  it('deletes only its own record when the call fails, and rethrows the failure', async () => {
    dynamo.on(PutCommand).resolves({});
    dynamo.on(DeleteCommand).rejects(conditionFailed());
    const failure = new Error('ECS is down');

    await expect(
      call(async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);

    const attempt = dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item?.attempt;
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'slipway-prod-state',
      Key: KEY,
      ConditionExpression: 'attempt = :attempt',
      ExpressionAttributeValues: { ':attempt': attempt },
    });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
  });

  it('says so when the failed call record cannot be deleted, with the failure as its cause', async () => {
    dynamo.on(PutCommand).resolves({});
    dynamo.on(DeleteCommand).rejects(new Error('throttled'));
    const failure = new Error('ECS is down');

    const thrown = await call(async () => {
      throw failure;
    }).catch((error: unknown) => error);

    expect(thrown).toMatchObject({
      message:
        "a failed call's idempotency record could not be deleted, so its retry is refused until the record expires: throttled",
      cause: failure,
    });
  });

  it('runs every call without a key, and writes nothing', async () => {
    const run = jest.fn(async () => 'ran');
    await idempotency({ scope: 'createDeployment', caller: 'alice', key: undefined, payload: null, run });
    await idempotency({ scope: 'createDeployment', caller: 'alice', key: undefined, payload: null, run });
    expect(run).toHaveBeenCalledTimes(2);
    expect(dynamo.calls()).toHaveLength(0);
  });
});
