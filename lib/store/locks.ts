import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
} from '@aws-sdk/lib-dynamodb';
import { Conflict } from '../errors';

/**
 * One deployment in flight per app environment, held by a conditional write on
 * the state table: the write that creates the lock item wins, every other sees
 * who holds it.
 */
export interface EnvironmentLock {
  app: string;
  environment: string;
  deploymentId: string;
  acquiredAt: string;
}

const IN_FLIGHT_PARTITION = 'INFLIGHT';

export const lockKey = (app: string, environment: string) => ({ pk: `LOCK#${app}#${environment}`, sk: 'LOCK' });

export class EnvironmentLocks {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Takes the lock for a deployment, or throws Conflict naming the deployment that holds it. */
  async acquire(lock: EnvironmentLock): Promise<void> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...lockKey(lock.app, lock.environment),
            ...lock,
            kind: 'lock',
            // Every held lock sits in one partition of the index, so the reconciler lists them without a scan.
            environmentKey: IN_FLIGHT_PARTITION,
            environmentSortKey: `${lock.acquiredAt}#${lock.app}#${lock.environment}`,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const holder =
        (error.Item as { deploymentId?: { S?: string } } | undefined)?.deploymentId?.S ??
        (await this.holder(lock.app, lock.environment));
      throw new Conflict(
        `${lock.app}/${lock.environment} already has a deployment in flight${holder ? `: ${holder}` : ''}`,
        { details: { inFlight: holder ?? null } },
      );
    }
  }

  /** Every lock held now, oldest first. */
  async list(): Promise<EnvironmentLock[]> {
    const locks: EnvironmentLock[] = [];
    const pages = paginateQuery(
      { client: this.documents },
      {
        TableName: this.tableName,
        IndexName: 'byEnvironment',
        KeyConditionExpression: 'environmentKey = :inflight',
        ExpressionAttributeValues: { ':inflight': IN_FLIGHT_PARTITION },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const { app, environment, deploymentId, acquiredAt } = item as EnvironmentLock;
        locks.push({ app, environment, deploymentId, acquiredAt });
      }
    }
    return locks;
  }

  /** Who holds the lock now; endpoints without ReturnValuesOnConditionCheckFailure (dynalite) are asked directly. */
  async holder(app: string, environment: string): Promise<string | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: lockKey(app, environment), ConsistentRead: true }),
    );
    return (Item as EnvironmentLock | undefined)?.deploymentId;
  }

  /** Releases the lock if this deployment holds it; releasing twice, or someone else's lock, changes nothing. */
  async release(app: string, environment: string, deploymentId: string): Promise<boolean> {
    try {
      await this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: lockKey(app, environment),
          ConditionExpression: 'deploymentId = :id',
          ExpressionAttributeValues: { ':id': deploymentId },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
