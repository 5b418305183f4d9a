import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Credentials, clientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createDynamoDbClient = (env?: Env, credentials?: Credentials) =>
  new DynamoDBClient(clientConfig('dynamodb', env, credentials));

/** The document client every repository in lib/store is given. */
export function documentClient(dynamodb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** A document client over a DynamoDB client of its own. */
export const createDocumentClient = (env?: Env, credentials?: Credentials) =>
  documentClient(createDynamoDbClient(env, credentials));
