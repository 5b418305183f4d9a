import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { AuditEntry, AuditSink } from '../audit/trail';
import { decodeCursor, encodeCursor, timeSortKey } from './cursor';
import type { Page } from './deployments';

/**
 * Audit entries on the state table, one partition per UTC day (`AUDIT#2026-12-05`), sorted by
 * time: a day of entries is one query, and no partition grows with the table's whole history.
 * DynamoDB expires each entry (`expiresAt`) after the configured retention.
 */

const DAY_MS = 86_400_000;

const dayOf = (iso: string) => iso.slice(0, 10);
const partitionOf = (day: string) => `AUDIT#${day}`;

export interface AuditQuery {
  /** ISO 8601, inclusive. */
  since: string;
  /** ISO 8601, inclusive. */
  until: string;
  /** The oldest time an entry can have (the retention): no cursor starts before it. */
  oldest: string;
  limit: number;
  cursor?: string;
}

const cursorOf = (entry: AuditEntry) => encodeCursor({ pk: partitionOf(dayOf(entry.at)), sk: sortKey(entry) });

const sortKey = (entry: Pick<AuditEntry, 'at' | 'id'>) => `${entry.at}#${entry.id}`;

const ENTRY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A cursor this listing returned, else a 400: a foreign one must not silently restart the listing.
 * The cursor, not `since`, is where a next page starts, so a default `since` that moved on meanwhile does not matter;
 * it may not start before the retention (every day since would be read), nor after `until` (DynamoDB refuses a
 * BETWEEN whose lower bound is above its upper one).
 */
function cursorKey(query: AuditQuery) {
  return z.strictObject({ pk: z.string(), sk: z.string() }).refine(({ pk, sk }) => {
    const key = timeSortKey(sk);
    return (
      key !== undefined &&
      ENTRY_ID.test(key.id) &&
      pk === partitionOf(dayOf(key.at)) &&
      key.at >= query.oldest &&
      sk <= `${query.until}#\uffff`
    );
  });
}

function* daysBetween(firstDay: string, lastDay: string): Generator<string> {
  for (let at = Date.parse(`${firstDay}T00:00:00.000Z`); ; at += DAY_MS) {
    const day = new Date(at).toISOString().slice(0, 10);
    if (day > lastDay) return;
    yield day;
  }
}

function toEntry(item: Record<string, unknown>): AuditEntry {
  const { pk: _pk, sk: _sk, type: _type, expiresAt: _expiresAt, ...entry } = item;
  return entry as unknown as AuditEntry;
}

export class AuditStore implements AuditSink {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  async put(entry: AuditEntry): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: partitionOf(dayOf(entry.at)),
          sk: sortKey(entry),
          type: 'audit',
          expiresAt: Math.floor(Date.parse(entry.at) / 1000) + this.retentionDays * 86_400,
          ...entry,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** Oldest first from `since`, a day partition at a time, until `limit` entries or `until`. */
  async list(query: AuditQuery): Promise<Page<AuditEntry>> {
    const start = query.cursor
      ? decodeCursor(query.cursor, cursorKey(query), 'is not a cursor this listing returned for this since and until')
      : undefined;
    const items: AuditEntry[] = [];
    const from = start ? start.sk : query.since;
    const firstDay = dayOf(from);
    for (const day of daysBetween(firstDay, dayOf(query.until))) {
      const resumeHere = start?.pk === partitionOf(day);
      let exclusiveStartKey: Record<string, unknown> | undefined = resumeHere ? start : undefined;
      do {
        const { Items = [], LastEvaluatedKey } = await this.documents.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': partitionOf(day),
              ':from': from,
              // Every sort key of an entry at `until` ends in `#<id>`, after `until` itself.
              ':to': `${query.until}#\uffff`,
            },
            Limit: query.limit - items.length,
            ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          }),
        );
        items.push(...Items.map(toEntry));
        exclusiveStartKey = LastEvaluatedKey;
      } while (exclusiveStartKey && items.length < query.limit);
      if (items.length >= query.limit) break;
    }
    const last = items.at(-1);
    return items.length >= query.limit && last ? { items, cursor: cursorOf(last) } : { items };
  }
}
