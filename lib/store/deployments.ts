import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import {
  type Approval,
  DEPLOYMENT_ID,
  type DeploymentRecord,
  type DeploymentState,
  type TimelineEntry,
  type Transition,
} from '../deploy/records';
import { decodeCursor, encodeCursor, timeSortKey } from './cursor';

/**
 * Deployment records on the state table. One item per deployment, also indexed by
 * app environment (byEnvironment, newest first) for history and for matching ECS events.
 */

const deploymentKey = (id: string) => ({ pk: `DEPLOYMENT#${id}`, sk: 'DEPLOYMENT' });
export const environmentKey = (app: string, environment: string) => `ENV#${app}#${environment}`;
const KEY_ATTRIBUTES = ['pk', 'sk', 'environmentKey', 'environmentSortKey', 'type'] as const;

export interface Page<T> {
  items: T[];
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  cursor?: string;
}

function toRecord(item: Record<string, unknown> | undefined): DeploymentRecord | undefined {
  if (!item) return undefined;
  const record = { ...item };
  for (const key of KEY_ATTRIBUTES) delete record[key];
  return record as unknown as DeploymentRecord;
}

/** The history's LastEvaluatedKey: a deployment of this environment, its sort key naming the same deployment. */
function historyKey(expectedEnvironmentKey: string) {
  return z
    .strictObject({
      pk: z.string(),
      sk: z.literal('DEPLOYMENT'),
      environmentKey: z.literal(expectedEnvironmentKey),
      environmentSortKey: z.string(),
    })
    .check(
      z.refine(({ pk, environmentSortKey }) => {
        const id = timeSortKey(environmentSortKey)?.id;
        return id !== undefined && DEPLOYMENT_ID.test(id) && pk === deploymentKey(id).pk;
      }),
    );
}

export class DeploymentStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: DeploymentRecord): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...deploymentKey(record.id),
          type: 'deployment',
          environmentKey: environmentKey(record.app, record.environment),
          environmentSortKey: `${record.createdAt}#${record.id}`,
          ...record,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string): Promise<DeploymentRecord | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: deploymentKey(id), ConsistentRead: true }),
    );
    return toRecord(Item);
  }

  /**
   * Applies a state change only while the record is in one of `transition.from`, and,
   * for ECS events, only if the event is newer than the last one applied (or as old, from one of
   * `transition.sameInstantFrom`). Returns the
   * record after the change, or undefined when the condition did not hold (a duplicate,
   * an older event, or someone else got there first).
   */
  async apply(
    id: string,
    change: Transition,
    options: { set?: Partial<DeploymentRecord>; eventAt?: string } = {},
  ): Promise<DeploymentRecord | undefined> {
    const entry: TimelineEntry = {
      state: change.to,
      at: change.at,
      ...(change.by ? { by: change.by } : {}),
      ...(change.note ? { note: change.note } : {}),
    };
    const names: Record<string, string> = { '#state': 'state', '#timeline': 'timeline', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':to': change.to, ':entry': [entry], ':at': change.at };
    const sets = ['#state = :to', '#timeline = list_append(#timeline, :entry)', '#updatedAt = :at'];
    const fromPlaceholders = change.from.map((state, index) => {
      values[`:from${index}`] = state;
      return `:from${index}`;
    });
    if (fromPlaceholders.length === 0) return undefined;
    const conditions = [`#state IN (${fromPlaceholders.join(', ')})`];
    if (options.eventAt) {
      names['#lastEventAt'] = 'lastEventAt';
      values[':eventAt'] = options.eventAt;
      sets.push('#lastEventAt = :eventAt');
      const sameInstant = (change.sameInstantFrom ?? []).map((state, index) => {
        values[`:same${index}`] = state;
        return `:same${index}`;
      });
      conditions.push(
        sameInstant.length === 0
          ? '(attribute_not_exists(#lastEventAt) OR #lastEventAt < :eventAt)'
          : `(attribute_not_exists(#lastEventAt) OR #lastEventAt < :eventAt OR (#lastEventAt = :eventAt AND #state IN (${sameInstant.join(', ')})))`,
      );
    }
    Object.entries(options.set ?? {}).forEach(([field, value], index) => {
      if (value === undefined) return;
      names[`#f${index}`] = field;
      values[`:f${index}`] = value;
      sets.push(`#f${index} = :f${index}`);
    });
    return this.conditionalUpdate(id, `SET ${sets.join(', ')}`, conditions.join(' AND '), names, values);
  }

  /** Adds an approval if the record still has exactly the approvals the caller read (optimistic concurrency). */
  async addApproval(id: string, approval: Approval, approvalsRead: number): Promise<DeploymentRecord | undefined> {
    return this.conditionalUpdate(
      id,
      'SET #approvals.#by = list_append(#approvals.#by, :approval), #timeline = list_append(#timeline, :entry), #updatedAt = :at',
      '#state = :pending AND size(#approvals.#by) = :read',
      { '#approvals': 'approvals', '#by': 'by', '#state': 'state', '#timeline': 'timeline', '#updatedAt': 'updatedAt' },
      {
        ':approval': [approval],
        ':entry': [{ state: 'APPROVED', at: approval.at, by: approval.by } satisfies TimelineEntry],
        ':at': approval.at,
        ':pending': 'PENDING_APPROVAL' satisfies DeploymentState,
        ':read': approvalsRead,
      },
    );
  }

  /** Sets fields that do not change the state (diagnosis, deregistration marks). */
  async annotate(id: string, set: Partial<DeploymentRecord>): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(set)
      .filter(([, value]) => value !== undefined)
      .map(([field, value], index) => {
        names[`#f${index}`] = field;
        values[`:f${index}`] = value;
        return `#f${index} = :f${index}`;
      });
    if (sets.length === 0) return;
    await this.conditionalUpdate(id, `SET ${sets.join(', ')}`, 'attribute_exists(pk)', names, values);
  }

  /** The environment's deployments, newest first. */
  async history(
    app: string,
    environment: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<DeploymentRecord>> {
    const key = environmentKey(app, environment);
    const exclusiveStartKey = options.cursor ? decodeCursor(options.cursor, historyKey(key)) : undefined;
    const { Items, LastEvaluatedKey } = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byEnvironment',
        KeyConditionExpression: 'environmentKey = :environment',
        ExpressionAttributeValues: { ':environment': key },
        ScanIndexForward: false,
        Limit: options.limit ?? 20,
        ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
      }),
    );
    const items = (Items ?? []).map((item) => toRecord(item) as DeploymentRecord);
    const cursor = encodeCursor(LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }

  /** Walks history newest first until `accept` returns true or `maxRecords` have been read. */
  async findInHistory(
    app: string,
    environment: string,
    accept: (record: DeploymentRecord) => boolean,
    maxRecords = 100,
  ): Promise<DeploymentRecord | undefined> {
    let cursor: string | undefined;
    let read = 0;
    do {
      const page = await this.history(app, environment, { limit: Math.min(25, maxRecords - read), cursor });
      for (const record of page.items) if (accept(record)) return record;
      read += page.items.length;
      cursor = page.cursor;
    } while (cursor && read < maxRecords);
    return undefined;
  }

  private async conditionalUpdate(
    id: string,
    update: string,
    condition: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<DeploymentRecord | undefined> {
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: deploymentKey(id),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}
