import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  bucketSettings,
  type CloudFormationResource,
  createTableInput,
  findResource,
  timeToLiveAttribute,
} from '../../../lib/local/definitions';

// resources/ as Serverless resolves it, minus the variables this test fills in.
function fragment(file: string, replacements: Record<string, string> = {}) {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of Object.entries(replacements)) text = text.replace(from, to);
  return (parse(text) as { Resources: Record<string, CloudFormationResource> }).Resources;
}

describe('local provisioning from resources/', () => {
  const tables = fragment('resources/state-table.yml', {
    '${self:custom.stateTableName}': 'slipway-local-state',
    '${param:deletionProtection}': 'false',
  });
  const buckets = fragment('resources/backup-bucket.yml');

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
