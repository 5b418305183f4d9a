import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { AuditDecision, AuditEntry, AuditSink } from '../audit/records';
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
  /** Only entries whose fields equal these. */
  filter?: { actor?: string; decision?: AuditDecision; action?: string };
}

// Items a filtered query reads per request: a filter is applied after DynamoDB reads (and its Limit counts) them.
const FILTERED_READ = 1_000;

const cursorOf = (entry: AuditEntry) => encodeCursor({ pk: partitionOf(dayOf(entry.at)), sk: sortKey(entry) });

const sortKey = (entry: Pick<AuditEntry, 'at' | 'id'>) => `${entry.at}#${entry.id}`;

const ENTRY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// A sampled refusal's id names its minute and source (lib/audit/trail.ts sourceKey): an IPv4 address, an
// IPv6 /64, or unknown.
const SAMPLED_ID = /^unauthenticated:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:(unknown|[0-9.]{7,15}|[0-9a-f:]{2,39}::\/64)$/;

/**
 * A cursor this listing returned, else a 400: a foreign one must not silently restart the listing.
 * The cursor, not `since`, is where a next page starts, so a default `since` that moved on meanwhile does not matter;
 * it may not start before the retention (every day since would be read), nor after `until` (DynamoDB refuses a
 * BETWEEN whose lower bound is above its upper one).
 */
function cursorKey(query: AuditQuery) {
  return z.strictObject({ pk: z.string(), sk: z.string() }).check(
    z.refine(({ pk, sk }) => {
      const key = timeSortKey(sk);
      return (
        key !== undefined &&
        (ENTRY_ID.test(key.id) || SAMPLED_ID.test(key.id)) &&
        pk === partitionOf(dayOf(key.at)) &&
        key.at >= query.oldest &&
        sk <= `${query.until}#\uffff`
      );
    }),
  );
}

function* daysBetween(firstDay: string, lastDay: string): Generator<string> {
  for (let at = Date.parse(`${firstDay}T00:00:00.000Z`); ; at += DAY_MS) {
    const day = new Date(at).toISOString().slice(0, 10);
    if (day > lastDay) return;
    yield day;
  }
}

/** `actor = :actor AND …` for the fields a listing is narrowed to; undefined for none. */
function filterExpression(filter: AuditQuery['filter']) {
  const fields = Object.entries(filter ?? {}).filter(([, value]) => value !== undefined);
  if (fields.length === 0) return undefined;
  return {
    // Names through placeholders: `action` is one of DynamoDB's reserved words.
    expression: fields.map(([field]) => `#${field} = :${field}`).join(' AND '),
    names: Object.fromEntries(fields.map(([field]) => [`#${field}`, field])),
    values: Object.fromEntries(fields.map(([field, value]) => [`:${field}`, value])),
  };
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

  /** A conditional put: an entry already stored under the same time and id (a sampled one) stays as it is. */
  async put(entry: AuditEntry): Promise<boolean> {
    try {
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
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Oldest first from `since`, a day partition at a time, until `limit` entries or `until`. A filter
   * reads more per request and keeps only what matches; a page then ends at the last entry it keeps.
   */
  async list(query: AuditQuery): Promise<Page<AuditEntry>> {
    const start = query.cursor
      ? decodeCursor(query.cursor, cursorKey(query), 'is not a cursor this listing returned for this since and until')
      : undefined;
    const items: AuditEntry[] = [];
    const from = start ? start.sk : query.since;
    const firstDay = dayOf(from);
    const filter = filterExpression(query.filter);
    for (const day of daysBetween(firstDay, dayOf(query.until))) {
      const resumeHere = start?.pk === partitionOf(day);
      let exclusiveStartKey: Record<string, unknown> | undefined = resumeHere ? start : undefined;
      do {
        const wanted = query.limit - items.length;
        const { Items = [], LastEvaluatedKey } = await this.documents.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': partitionOf(day),
              ':from': from,
              // Every sort key of an entry at `until` ends in `#<id>`, after `until` itself.
              ':to': `${query.until}#\uffff`,
              ...filter?.values,
            },
            ...(filter ? { FilterExpression: filter.expression, ExpressionAttributeNames: filter.names } : {}),
            Limit: filter ? Math.max(wanted, FILTERED_READ) : wanted,
            ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          }),
        );
        items.push(...Items.slice(0, wanted).map(toEntry));
        // More matched than the page holds: the page ends at the last one kept, where its cursor resumes.
        exclusiveStartKey = Items.length > wanted ? undefined : LastEvaluatedKey;
      } while (exclusiveStartKey && items.length < query.limit);
      if (items.length >= query.limit) break;
    }
    const last = items.at(-1);
    return items.length >= query.limit && last ? { items, cursor: cursorOf(last) } : { items };
  }
}
