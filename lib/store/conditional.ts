import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';

/** A PutItem that only creates: true when the item is new, false when its key was already there. */
export async function putNew(
  documents: DynamoDBDocumentClient,
  input: Omit<PutCommandInput, 'ConditionExpression'>,
): Promise<boolean> {
  try {
    await documents.send(new PutCommand({ ...input, ConditionExpression: 'attribute_not_exists(pk)' }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
