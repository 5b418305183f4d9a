import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { CloudFormationResource } from '../../../lib/local/definitions';
import { ensureStateTable } from '../../../lib/local/provision';
import { resourcesFragment } from '../../support/resources';

const dynamodb = mockClient(DynamoDBClient);
const table = resourcesFragment('resources/state-table.yml').StateTable as CloudFormationResource;

beforeEach(() => {
  dynamodb.reset();
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('ensureStateTable', () => {
  it('sees a table the emulator still reports CREATING as ready within a second of its turning ACTIVE', async () => {
    // given: no table yet, and one DescribeTable after CreateTable that still says CREATING
    dynamodb
      .on(DescribeTableCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'not found', $metadata: {} }))
      .resolvesOnce({ Table: { TableName: 'slipway-local-state', TableStatus: 'CREATING' } })
      .resolves({ Table: { TableName: 'slipway-local-state', TableStatus: 'ACTIVE' } });
    dynamodb.on(CreateTableCommand).resolves({});
    const lines: string[] = [];

    // when
    let done = false;
    const ensured = ensureStateTable(new DynamoDBClient({ region: 'us-east-1' }), table, (line) =>
      lines.push(line),
    ).then(() => {
      done = true;
    });
    await jest.advanceTimersByTimeAsync(1_000);

    // then: created and reported, without the SDK waiter's default 20 s pause
    expect(done).toBe(true);
    await ensured;
    expect(lines[0]).toBe('table slipway-local-state: created');
    expect(dynamodb).toHaveReceivedCommandTimes(DescribeTableCommand, 3);
  });
});
