import * as ecs from '@aws-sdk/client-ecs';
import * as rds from '@aws-sdk/client-rds';
import { QueryShapeSerializer } from '@aws-sdk/core/protocols';
import { AwsFault, queryError, readQuery, shapes, unmodelled, writeJson, writeQuery } from '../../../lib/sandbox/wire';

/**
 * The server's side of the SDK's protocols: a form the RDS client writes reads back as the input it was
 * written from; answers carry only what the service model defines, timestamps as each protocol writes them.
 */

/** The form body the RDS client sends for an input (its own serializer, as AwsQueryProtocol uses it). */
function formOf(operation: typeof rds.CreateDBSnapshot$, input: object): URLSearchParams {
  const serializer = new QueryShapeSerializer({ timestampFormat: { useTrait: true, default: 5 } });
  serializer.write(shapes(operation).input, input);
  return new URLSearchParams(`Action=${operation[2]}&Version=2014-10-31${serializer.flush()}`);
}

describe('readQuery', () => {
  it.each([
    [
      'CreateDBSnapshot with tags (a list whose members are named Tag)',
      rds.CreateDBSnapshot$,
      {
        DBSnapshotIdentifier: 's1',
        DBInstanceIdentifier: 'shop-db',
        Tags: [
          { Key: 'a', Value: 'b' },
          { Key: 'c', Value: '' },
        ],
      },
    ],
    [
      'RestoreDBInstanceToPointInTime with a time, booleans, numbers and security groups',
      rds.RestoreDBInstanceToPointInTime$,
      {
        SourceDBInstanceIdentifier: 'shop-db',
        TargetDBInstanceIdentifier: 'shop-pitr',
        RestoreTime: new Date('2026-11-22T03:00:00Z'),
        MultiAZ: false,
        Port: 5432,
        VpcSecurityGroupIds: ['sg-1', 'sg-2'],
      },
    ],
    [
      'DescribeExportTasks with filters (lists inside a list)',
      rds.DescribeExportTasks$,
      { Filters: [{ Name: 'status', Values: ['starting', 'in_progress'] }] },
    ],
  ])('given %s written by the SDK, when it is read, then it is the input', (_what, operation, input) => {
    expect(readQuery(operation, formOf(operation, input))).toEqual(input);
  });

  it('given a value that is not a number where the model has one, then it is InvalidParameterValue naming the key', () => {
    const form = new URLSearchParams('Action=DescribeDBInstances&MaxRecords=many');
    expect(() => readQuery(rds.DescribeDBInstances$, form)).toThrow(
      expect.objectContaining({ code: 'InvalidParameterValue', message: 'MaxRecords: expected a number' }),
    );
  });
});

describe('the answers', () => {
  it("given a member the model lacks, then the answer is refused as the sandbox's fault", () => {
    expect(unmodelled(shapes(ecs.DescribeServices$).output, { services: [{ serviceName: 'a', bogus: 1 }] })).toEqual([
      'services[0].bogus: not in the model',
    ]);
    expect(() => writeJson(ecs.DescribeServices$, { services: [{ serviceName: 'a', bogus: 1 }] })).toThrow(
      expect.objectContaining({ code: 'InternalFailure', status: 500 }),
    );
  });

  it('writes ECS timestamps as epoch seconds (AWS JSON 1.1)', () => {
    const body = writeJson(ecs.DescribeServices$, {
      services: [{ serviceName: 'a', createdAt: new Date('2026-11-22T03:00:00.500Z') }],
    });
    expect(JSON.parse(body)).toEqual({ services: [{ serviceName: 'a', createdAt: 1795316400.5 }] });
  });

  it('wraps an RDS answer as <Operation>Result inside <Operation>Response, with its request id', () => {
    const body = writeQuery(
      rds.DescribeDBInstances$,
      { DBInstances: [{ DBInstanceIdentifier: 'shop-db' }] },
      'urn:rds',
      'r-1',
    );
    expect(body).toBe(
      '<DescribeDBInstancesResponse xmlns="urn:rds"><DescribeDBInstancesResult><DBInstances><DBInstance><DBInstanceIdentifier>shop-db</DBInstanceIdentifier></DBInstance></DBInstances></DescribeDBInstancesResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeDBInstancesResponse>',
    );
  });

  it('answers an RDS fault with the code and status its model gives it', () => {
    const fault = AwsFault.of(rds.DBSnapshotNotFoundFault$, 'DBSnapshot s1 not found.');
    expect({ code: fault.code, status: fault.status }).toEqual({ code: 'DBSnapshotNotFound', status: 404 });
    expect(queryError(fault, 'urn:rds', 'r-2')).toBe(
      '<ErrorResponse xmlns="urn:rds"><Error><Type>Sender</Type><Code>DBSnapshotNotFound</Code><Message>DBSnapshot s1 not found.</Message></Error><RequestId>r-2</RequestId></ErrorResponse>',
    );
  });
});
