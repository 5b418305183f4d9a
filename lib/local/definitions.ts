import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * Turns the resolved CloudFormation definitions of resources/ into the API
 * calls that create the same table and bucket on a local or compatible
 * endpoint, so there is one definition and no hand-written copy.
 */
export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export type ResourceMap = Record<string, CloudFormationResource>;

export function findResource(resources: ResourceMap, logicalId: string, type: string): CloudFormationResource {
  const resource = resources[logicalId];
  if (!resource || resource.Type !== type) {
    throw new Error(`resources/ defines no ${type} named ${logicalId}`);
  }
  return resource;
}

const TABLE_KEYS = [
  'TableName',
  'AttributeDefinitions',
  'KeySchema',
  'GlobalSecondaryIndexes',
  'LocalSecondaryIndexes',
  'BillingMode',
  'ProvisionedThroughput',
] as const;

/** The CreateTable input for a table resource; account-level settings (PITR, TTL, SSE) are applied separately. */
export function createTableInput(table: CloudFormationResource): CreateTableCommandInput {
  const properties = table.Properties ?? {};
  const input: Record<string, unknown> = {};
  for (const key of TABLE_KEYS) {
    if (properties[key] !== undefined) input[key] = properties[key];
  }
  if (typeof input.TableName !== 'string') throw new Error('the state table definition has no resolved TableName');
  return input as unknown as CreateTableCommandInput;
}

export function timeToLiveAttribute(table: CloudFormationResource): string | undefined {
  const spec = table.Properties?.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  return spec?.Enabled ? spec.AttributeName : undefined;
}

export interface BucketSettings {
  versioning: boolean;
  publicAccessBlock: Record<string, boolean> | undefined;
  abortIncompleteUploadsAfterDays: number | undefined;
}

export function bucketSettings(bucket: CloudFormationResource): BucketSettings {
  const properties = bucket.Properties ?? {};
  const versioning = (properties.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled';
  const rules =
    (properties.LifecycleConfiguration as { Rules?: Array<Record<string, unknown>> } | undefined)?.Rules ?? [];
  const abort = rules
    .map(
      (rule) =>
        (rule.AbortIncompleteMultipartUpload as { DaysAfterInitiation?: number } | undefined)?.DaysAfterInitiation,
    )
    .find((days) => days !== undefined);
  return {
    versioning,
    publicAccessBlock: properties.PublicAccessBlockConfiguration as Record<string, boolean> | undefined,
    abortIncompleteUploadsAfterDays: abort,
  };
}
