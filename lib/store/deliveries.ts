import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { putNew } from './conditional';

/**
 * Registry webhook deliveries already received, by their delivery id: a delivery is acted on once, so a
 * captured one replayed later (a GitHub signature carries no time) cannot start a release again.
 */

/**
 * How long a delivery id is remembered. Longer than anything a release depends on: the release idempotency
 * record (24 h), a waiting release's soak, scan timeout and approval window (days at most), an ended
 * release (30 days); and as long as the audit trail keeps by default (`audit.retentionDays`, 400), so a
 * refused replay can always be matched with the entry its first delivery left.
 */
export const DELIVERY_MEMORY_DAYS = 400;
const DELIVERY_MEMORY_SECONDS = DELIVERY_MEMORY_DAYS * 24 * 3600;

export interface Delivery {
  /** X-GitHub-Delivery, lower-cased. */
  id: string;
  scheme: string;
  registry: string;
  repository: string;
  digest: string;
  tag?: string;
  receivedAt: string;
}

export const deliveryKey = (id: string) => ({ pk: `DELIVERY#${id}`, sk: 'DELIVERY' });

export class DeliveryStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Records a delivery unless its id is known: one conditional PutItem, so of two concurrent deliveries of
   * one id exactly one is first. Answers the attempt (for `forget`), or undefined for an id already received.
   */
  async remember(delivery: Delivery): Promise<string | undefined> {
    const attempt = randomUUID();
    const first = await putNew(this.documents, {
      TableName: this.tableName,
      Item: {
        ...deliveryKey(delivery.id),
        type: 'delivery',
        ...delivery,
        attempt,
        expiresAt: Math.floor(Date.parse(delivery.receivedAt) / 1000) + DELIVERY_MEMORY_SECONDS,
      },
    });
    return first ? attempt : undefined;
  }

  /** Forgets a delivery that failed before it was acted on, so its redelivery is taken; only this attempt's. */
  async forget(id: string, attempt: string): Promise<void> {
    try {
      await this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: deliveryKey(id),
          ConditionExpression: 'attempt = :attempt',
          ExpressionAttributeValues: { ':attempt': attempt },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
