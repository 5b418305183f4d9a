import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { Conflict, Unprocessable } from '../errors';

/**
 * Calls made once per key: a retried request (an `Idempotency-Key`, an event delivered twice, an alarm
 * state change) returns the first call's answer instead of doing the work twice. Records live on the
 * state table in one partition, keyed by scope, caller and key, and expire with its TTL (`expiresAt`).
 *
 * A record's key, attributes and hashes are those Powertools idempotency wrote before (md5 of the
 * key-sorted JSON, in base64), so a retry that spans an upgrade still finds its first answer.
 */

const DEFAULT_TTL_SECONDS = 24 * 3600;
const PARTITION = 'IDEMPOTENCY';
/** Claims tried before a key whose record keeps changing under us is answered as in progress. */
const CLAIM_ROUNDS = 3;

const IN_PROGRESS = 'INPROGRESS';
const COMPLETED = 'COMPLETED';

export interface IdempotentCall<T> {
  /** Route name: the same key on two routes means two requests. */
  scope: string;
  caller: string;
  key: string | undefined;
  /** The request as the caller sent it; the same key with another payload is refused. */
  payload: unknown;
  /** Bounds how long a call may hold its key: a call cut off by its function's timeout is taken over after it. */
  context?: Pick<Context, 'getRemainingTimeInMillis'>;
  run: () => Promise<T>;
}

export type Idempotency = <T>(call: IdempotentCall<T>) => Promise<T>;

/** An idempotency record as the state table holds it. */
export interface IdempotencyRecord {
  status: string;
  /** Epoch seconds: the table's TTL attribute. */
  expiresAt: number;
  /** Epoch milliseconds past which an unfinished call is taken to have died. */
  in_progress_expiration?: number;
  /** Hash of the first call's payload. */
  validation?: string;
  /** The first call's answer. */
  data?: unknown;
  /** Which call holds an in-progress record; records Powertools wrote have none. */
  attempt?: string;
}

export type IdempotencyDecision =
  | { action: 'claim'; over: 'nothing' | 'expired' }
  | { action: 'answer'; answer: unknown }
  | { action: 'refuse'; because: 'other-payload' | 'in-progress' };

/**
 * What a call finds under its key, from the record read after its claim failed. A record past `expiresAt`
 * counts as gone: TTL deletes it in the background, typically within two days, and until then reads still
 * return it (DynamoDB Developer Guide, "Working with expired items").
 */
export function idempotencyDecision(
  record: IdempotencyRecord | undefined,
  payloadHash: string,
  nowMs: number,
): IdempotencyDecision {
  if (!record) return { action: 'claim', over: 'nothing' };
  if (isExpired(record, nowMs)) return { action: 'claim', over: 'expired' };
  if (record.validation !== payloadHash) return { action: 'refuse', because: 'other-payload' };
  if (record.status === COMPLETED) return { action: 'answer', answer: record.data };
  return { action: 'refuse', because: 'in-progress' };
}

function isExpired(record: IdempotencyRecord, nowMs: number): boolean {
  if (record.expiresAt * 1000 < nowMs) return true;
  return (
    record.status === IN_PROGRESS &&
    record.in_progress_expiration !== undefined &&
    record.in_progress_expiration < nowMs
  );
}

/** Sorts object keys case-insensitively at every depth, as Powertools did before hashing. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (Object.prototype.toString.call(value) !== '[object Object]') return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(object)
      .sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
      .map((key) => [key, sortedKeys(object[key])]),
  );
}

/** md5 in base64 of the key-sorted JSON: a record's name and its payload check, not a secret. */
export function idempotencyHash(value: unknown): string {
  return createHash('md5')
    .update(JSON.stringify(sortedKeys(value)) ?? 'null')
    .digest('base64');
}

export const idempotencyRecordKey = (scope: string, callerKey: string) => ({
  pk: PARTITION,
  sk: `${scope}#${idempotencyHash(callerKey)}`,
});

const payloadRefused = () =>
  new Unprocessable('this Idempotency-Key was already used with a different request; use a new key');
const stillInProgress = () =>
  new Conflict('a request with this Idempotency-Key is still in progress; retry after it ends');

/**
 * The state table's idempotency records. A claim is a conditional PutItem: DynamoDB evaluates the
 * ConditionExpression and writes atomically, refusing with ConditionalCheckFailedException when it is false
 * (DynamoDB API Reference, PutItem), so of two calls with one key exactly one claims it.
 */
export function dynamoDbIdempotency(
  documents: DynamoDBDocumentClient,
  tableName: string,
  options: { ttlSeconds?: number; now?: () => number } = {},
): Idempotency {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const now = options.now ?? Date.now;

  const conditionFailed = async (write: () => Promise<unknown>): Promise<boolean> => {
    try {
      await write();
      return false;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return true;
      throw error;
    }
  };

  /** Writes this call's in-progress record, over nothing or over an expired record; false when the condition fails. */
  const claim = async (
    key: ReturnType<typeof idempotencyRecordKey>,
    over: 'nothing' | 'expired',
    record: IdempotencyRecord,
    nowMs: number,
  ): Promise<boolean> => {
    const condition =
      over === 'nothing'
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            // Still expired when written: of two calls taking over one record, the second finds the first's.
            ConditionExpression: 'expiresAt < :now OR (#status = :inProgress AND in_progress_expiration < :nowMs)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':now': nowMs / 1000, ':nowMs': nowMs, ':inProgress': IN_PROGRESS },
          };
    const refused = await conditionFailed(() =>
      documents.send(new PutCommand({ TableName: tableName, Item: { ...key, ...record }, ...condition })),
    );
    return !refused;
  };

  const read = async (key: ReturnType<typeof idempotencyRecordKey>) => {
    // A strongly consistent read sees every write acknowledged before it (DynamoDB API Reference, GetItem).
    const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    return Item as IdempotencyRecord | undefined;
  };

  return async <T>(call: IdempotentCall<T>): Promise<T> => {
    if (call.key === undefined) return call.run();
    const key = idempotencyRecordKey(call.scope, `${call.caller}:${call.key}`);
    const validation = idempotencyHash(call.payload);
    const attempt = randomUUID();

    let over: 'nothing' | 'expired' = 'nothing';
    for (let round = 1; ; round++) {
      const nowMs = now();
      const remainingMs = call.context?.getRemainingTimeInMillis();
      const inProgress: IdempotencyRecord = {
        status: IN_PROGRESS,
        expiresAt: Math.round(nowMs / 1000 + ttlSeconds),
        ...(remainingMs ? { in_progress_expiration: nowMs + remainingMs } : {}),
        validation,
        attempt,
      };
      if (await claim(key, over, inProgress, nowMs)) break;
      const decision = idempotencyDecision(await read(key), validation, now());
      if (decision.action === 'answer') return decision.answer as T;
      if (decision.action === 'refuse') throw decision.because === 'in-progress' ? stillInProgress() : payloadRefused();
      if (round === CLAIM_ROUNDS) throw stillInProgress();
      over = decision.over;
    }

    let answer: T;
    try {
      answer = await call.run();
    } catch (error) {
      // A failed call leaves no record, so its retry runs; only this call's record, never one that took over.
      try {
        await conditionFailed(() =>
          documents.send(
            new DeleteCommand({
              TableName: tableName,
              Key: key,
              ConditionExpression: 'attempt = :attempt',
              ExpressionAttributeValues: { ':attempt': attempt },
            }),
          ),
        );
      } catch (forgetError) {
        throw new Error(
          `a failed call's idempotency record could not be deleted, so its retry is refused until the record expires: ${(forgetError as Error).message}`,
          { cause: error },
        );
      }
      throw error;
    }
    const completed: IdempotencyRecord = {
      status: COMPLETED,
      expiresAt: Math.round(now() / 1000 + ttlSeconds),
      validation,
      data: answer,
      attempt,
    };
    // A call that outlived its in-progress expiry and was taken over keeps its answer and leaves the record alone.
    await conditionFailed(() =>
      documents.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...key, ...completed },
          ConditionExpression: 'attempt = :attempt',
          ExpressionAttributeValues: { ':attempt': attempt },
        }),
      ),
    );
    return answer;
  };
}

/** For tests and for stages without a table: every call runs. */
export const noIdempotency: Idempotency = (call) => call.run();
