import {
  bucketSettings,
  type CloudFormationResource,
  createTableInput,
  findResource,
  timeToLiveAttribute,
} from '../../../lib/local/definitions';
import { resourcesFragment } from '../../support/resources';

describe('local provisioning from resources/', () => {
  const tables = resourcesFragment('resources/state-table.yml');
  const buckets = resourcesFragment('resources/backup-bucket.yml');

  it('creates the table exactly as resources/state-table.yml defines its keys and indexes', () => {
    const input = createTableInput(findResource(tables, 'StateTable', 'AWS::DynamoDB::Table'));
    const properties = tables.StateTable?.Properties ?? {};
    expect(input).toEqual({
      TableName: 'slipway-local-state',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: properties.AttributeDefinitions,
      KeySchema: properties.KeySchema,
      GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes,
    });
  });

  it('reads the TTL attribute and the bucket settings', () => {
    expect(timeToLiveAttribute(tables.StateTable as CloudFormationResource)).toBe('expiresAt');
    expect(bucketSettings(findResource(buckets, 'BackupBucket', 'AWS::S3::Bucket'))).toEqual({
      versioning: true,
      publicAccessBlock: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      abortIncompleteUploadsAfterDays: 7,
    });
  });

  it('names what is missing', () => {
    expect(() => findResource(buckets, 'StateTable', 'AWS::DynamoDB::Table')).toThrow(
      'resources/ defines no AWS::DynamoDB::Table named StateTable',
    );
    expect(() => createTableInput({ Type: 'AWS::DynamoDB::Table', Properties: {} })).toThrow(
      'the state table definition has no resolved TableName',
    );
  });
});
