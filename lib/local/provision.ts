import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { bucketSettings, type CloudFormationResource, createTableInput, timeToLiveAttribute } from './definitions';

export type Report = (line: string) => void;

/** How often a table being created is described again: from this many seconds, backing off to the next. */
const TABLE_POLL_MIN_S = 0.2;
const TABLE_POLL_MAX_S = 2;

/** Settings an emulator may not implement are reported and skipped; the table or bucket itself must exist. */
async function optional(report: Report, what: string, action: () => Promise<unknown>) {
  try {
    await action();
  } catch (error) {
    report(`  ${what}: not supported by this endpoint (${(error as Error).name})`);
  }
}

export async function ensureStateTable(client: DynamoDBClient, table: CloudFormationResource, report: Report) {
  const input = createTableInput(table);
  try {
    await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    report(`table ${input.TableName}: exists`);
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException) && (error as Error).name !== 'ResourceNotFoundException') {
      throw error;
    }
  }
  await client.send(new CreateTableCommand(input));
  // An emulator's table is ACTIVE within moments; the waiter's own first pause would be 20 s
  // (@aws-sdk/client-dynamodb waitForTableExists: minDelay 20), after one DescribeTable that saw CREATING.
  await waitUntilTableExists(
    { client, maxWaitTime: 60, minDelay: TABLE_POLL_MIN_S, maxDelay: TABLE_POLL_MAX_S },
    { TableName: input.TableName },
  );
  report(`table ${input.TableName}: created`);
  const ttl = timeToLiveAttribute(table);
  if (ttl) {
    await optional(report, 'time to live', () =>
      client.send(
        new UpdateTimeToLiveCommand({
          TableName: input.TableName,
          TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
        }),
      ),
    );
  }
}

export async function ensureBackupBucket(
  client: S3Client,
  bucketName: string,
  bucket: CloudFormationResource,
  report: Report,
) {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucketName }));
    report(`bucket ${bucketName}: exists`);
    return;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw error;
  }
  await client.send(new CreateBucketCommand({ Bucket: bucketName }));
  report(`bucket ${bucketName}: created`);
  const settings = bucketSettings(bucket);
  if (settings.versioning) {
    await optional(report, 'versioning', () =>
      client.send(
        new PutBucketVersioningCommand({ Bucket: bucketName, VersioningConfiguration: { Status: 'Enabled' } }),
      ),
    );
  }
  if (settings.publicAccessBlock) {
    const block = settings.publicAccessBlock;
    await optional(report, 'public access block', () =>
      client.send(new PutPublicAccessBlockCommand({ Bucket: bucketName, PublicAccessBlockConfiguration: block })),
    );
  }
  if (settings.abortIncompleteUploadsAfterDays !== undefined) {
    const days = settings.abortIncompleteUploadsAfterDays;
    await optional(report, 'lifecycle', () =>
      client.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucketName,
          LifecycleConfiguration: {
            Rules: [
              {
                ID: 'abort-incomplete-multipart-uploads',
                Status: 'Enabled',
                Filter: { Prefix: '' },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: days },
              },
            ],
          },
        }),
      ),
    );
  }
}
