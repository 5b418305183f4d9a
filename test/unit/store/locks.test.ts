import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { EnvironmentLocks } from '../../../lib/store/locks';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(documents);
const locks = new EnvironmentLocks(documents, 'slipway-prod-state');
const lock = { app: 'shop', environment: 'production', deploymentId: 'dep-1', acquiredAt: '2026-11-22T03:00:00.000Z' };

beforeEach(() => dynamo.reset());

describe('EnvironmentLocks against the DynamoDB API', () => {
  it('acquires with a conditional put that returns the holder on conflict', async () => {
    dynamo.on(PutCommand).resolves({});
    await locks.acquire(lock);
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'slipway-prod-state',
      Item: {
        pk: 'LOCK#shop#production',
        sk: 'LOCK',
        kind: 'lock',
        ...lock,
        environmentKey: 'INFLIGHT',
        environmentSortKey: `${lock.acquiredAt}#shop#production`,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('names the holder from the failed condition without another read', async () => {
    dynamo.on(PutCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: { deploymentId: { S: 'dep-0' } },
      }),
    );
    await expect(locks.acquire(lock)).rejects.toThrow('shop/production already has a deployment in flight: dep-0');
    expect(dynamo).not.toHaveReceivedCommand(GetCommand);
  });

  it('releases with a condition on the holder', async () => {
    dynamo.on(DeleteCommand).resolves({});
    expect(await locks.release('shop', 'production', 'dep-1')).toBe(true);
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'slipway-prod-state',
      Key: { pk: 'LOCK#shop#production', sk: 'LOCK' },
      ConditionExpression: 'deploymentId = :id',
      ExpressionAttributeValues: { ':id': 'dep-1' },
    });
  });

  it('passes other failures through', async () => {
    dynamo.on(PutCommand).rejects(new Error('throttled'));
    await expect(locks.acquire(lock)).rejects.toThrow('throttled');
  });
});
