import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DependencyCheck } from './readiness';

export function stateTableCheck(client: DynamoDBClient, tableName: string): DependencyCheck {
  return {
    name: 'stateTable',
    probe: async (abortSignal) => {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal });
      if (Table?.TableStatus !== 'ACTIVE' && Table?.TableStatus !== 'UPDATING') {
        throw new Error(`table ${tableName} is ${Table?.TableStatus ?? 'missing'}`);
      }
    },
  };
}

export function backupBucketCheck(client: S3Client, bucket: string): DependencyCheck {
  return {
    name: 'backupBucket',
    probe: async (abortSignal) => {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal });
    },
  };
}

export function secretsManagerCheck(
  client: SecretsManagerClient,
  secretId: string,
  skipReason?: () => Promise<string | undefined>,
): DependencyCheck {
  return {
    name: 'secretsManager',
    probe: async (abortSignal) => {
      await client.send(new DescribeSecretCommand({ SecretId: secretId }), { abortSignal });
    },
    ...(skipReason ? { skipReason } : {}),
  };
}

export function ecsCheck(client: ECSClient, skipReason?: () => Promise<string | undefined>): DependencyCheck {
  return {
    name: 'ecs',
    probe: async (abortSignal) => {
      await client.send(new ListClustersCommand({ maxResults: 1 }), { abortSignal });
    },
    ...(skipReason ? { skipReason } : {}),
  };
}
