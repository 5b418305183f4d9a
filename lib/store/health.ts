import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CheckResult, EnvironmentHealth } from '../health/records';

export type { CheckResult, EnvironmentHealth };

/**
 * Each environment's health checks as the probes last saw them, one item per environment, replaced every
 * run: what the console's board and GET /v1/apps/{app}/environments/{env} show beside what runs.
 */

/** An environment taken out of the config stops being probed: its last results go after a day (the table's TTL). */
const KEEP_SECONDS = 24 * 60 * 60;

export const healthKey = (app: string, environment: string) => ({ pk: `HEALTH#${app}#${environment}`, sk: 'HEALTH' });

export class HealthStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(app: string, environment: string, health: EnvironmentHealth): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...healthKey(app, environment),
          kind: 'health',
          ...health,
          expiresAt: Math.floor(Date.parse(health.checkedAt) / 1000) + KEEP_SECONDS,
        },
      }),
    );
  }

  async get(app: string, environment: string): Promise<EnvironmentHealth | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: healthKey(app, environment) }),
    );
    if (!Item) return undefined;
    return { checkedAt: Item.checkedAt as string, checks: Item.checks as CheckResult[] };
  }
}
