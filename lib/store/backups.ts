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
  type AnyBackupRecord,
  type AnyRestoreRecord,
  BACKUP_ID,
  type BackupStatus,
  RESTORE_ID,
  subjectOf,
} from '../backup/records';
import { decodeCursor, encodeCursor, timeSortKey } from './cursor';
import type { Page } from './deployments';

/**
 * Backup and restore records on the state table, each also indexed by its database
 * (byEnvironment, newest first) for listings, retention and the reconciler.
 */

const KEY_ATTRIBUTES = ['pk', 'sk', 'environmentKey', 'environmentSortKey', 'type'];

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const record = { ...item };
  for (const key of KEY_ATTRIBUTES) delete record[key];
  return record as T;
}

type Kind = 'backup' | 'restore';
const PREFIX: Record<Kind, string> = { backup: 'BACKUP', restore: 'RESTORE' };
/** `subject`: a database's name, or `volume:<name>`. */
const partitionOf = (kind: Kind, subject: string) => `${PREFIX[kind]}S#${subject}`;
const ID: Record<Kind, RegExp> = { backup: BACKUP_ID, restore: RESTORE_ID };

/**
 * A listing's LastEvaluatedKey: a record of this kind in this partition, its sort key naming the same
 * record and inside the query's since and until, as DynamoDB requires of an ExclusiveStartKey.
 */
function listKey(kind: Kind, partition: string, range: { since: string; until: string } | undefined) {
  return z
    .strictObject({
      pk: z.string(),
      sk: z.literal(PREFIX[kind]),
      environmentKey: z.literal(partition),
      environmentSortKey: z.string(),
    })
    .check(
      z.refine(({ pk, environmentSortKey }) => {
        const id = timeSortKey(environmentSortKey)?.id;
        const inRange = !range || (environmentSortKey >= range.since && environmentSortKey <= range.until);
        return id !== undefined && ID[kind].test(id) && pk === `${PREFIX[kind]}#${id}` && inRange;
      }),
    );
}

export interface ListOptions {
  limit?: number;
  cursor?: string;
  status?: string;
  since?: string;
  until?: string;
}

class RecordStore<T extends { id: string; database?: string; volume?: string; createdAt: string }> {
  constructor(
    protected readonly documents: DynamoDBDocumentClient,
    protected readonly tableName: string,
    private readonly kind: Kind,
  ) {}

  protected key(id: string) {
    return { pk: `${PREFIX[this.kind]}#${id}`, sk: PREFIX[this.kind] };
  }

  async create(record: T): Promise<boolean> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(record.id),
            type: this.kind,
            environmentKey: partitionOf(this.kind, subjectOf(record)),
            environmentSortKey: `${record.createdAt}#${record.id}`,
            ...record,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(id: string): Promise<T | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(id), ConsistentRead: true }),
    );
    return strip<T>(Item);
  }

  /**
   * Sets fields if the record is still in one of `from` (its status); undefined when it no longer is.
   * `R` is the kind of record the caller knows `id` to be (it read it before).
   */
  async update<R extends T = T>(id: string, from: readonly string[], set: Partial<R>): Promise<R | undefined> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {};
    const sets = Object.entries(set)
      .filter(([, value]) => value !== undefined)
      .map(([field, value], index) => {
        names[`#f${index}`] = field;
        values[`:f${index}`] = value;
        return `#f${index} = :f${index}`;
      });
    const allowed = from.map((status, index) => {
      values[`:from${index}`] = status;
      return `:from${index}`;
    });
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `#status IN (${allowed.join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<R>(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** A subject's records (a database, or `volume:<name>`), newest first, optionally by status and creation time. */
  async list(subject: string, options: ListOptions = {}): Promise<Page<T>> {
    const partition = partitionOf(this.kind, subject);
    const values: Record<string, unknown> = { ':partition': partition };
    let range = '';
    const bounds =
      options.since || options.until
        ? { since: options.since ?? '0000', until: `${options.until ?? '9999'}\uffff` }
        : undefined;
    if (bounds) {
      values[':since'] = bounds.since;
      values[':until'] = bounds.until;
      range = ' AND environmentSortKey BETWEEN :since AND :until';
    }
    const start = options.cursor ? decodeCursor(options.cursor, listKey(this.kind, partition, bounds)) : undefined;
    const filter = options.status
      ? { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } }
      : {};
    if (options.status) values[':status'] = options.status;
    const { Items, LastEvaluatedKey } = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byEnvironment',
        KeyConditionExpression: `environmentKey = :partition${range}`,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: options.limit ?? 50,
        ...filter,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (Items ?? []).map((item) => strip<T>(item) as T);
    const cursor = encodeCursor(LastEvaluatedKey);
    return cursor ? { items, cursor } : { items };
  }
}

export class BackupStore extends RecordStore<AnyBackupRecord> {
  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    super(documents, tableName, 'backup');
  }

  /** The records of a database with one of these statuses (the reconciler's work), newest first. */
  async withStatus(subject: string, statuses: readonly BackupStatus[], limit = 100): Promise<AnyBackupRecord[]> {
    const found: AnyBackupRecord[] = [];
    let cursor: string | undefined;
    let read = 0;
    do {
      const page = await this.list(subject, { limit: 50, ...(cursor ? { cursor } : {}) });
      found.push(...page.items.filter((record) => statuses.includes(record.status)));
      read += page.items.length;
      cursor = page.cursor;
    } while (cursor && read < limit);
    return found;
  }
}

export class RestoreStore extends RecordStore<AnyRestoreRecord> {
  constructor(documents: DynamoDBDocumentClient, tableName: string) {
    super(documents, tableName, 'restore');
  }
}
