import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { Conflict, InvalidInput, Unprocessable } from '../errors';

/**
 * `Idempotency-Key` for mutating routes: a retried request returns the first one's
 * response instead of doing the work twice. Records live on the state table
 * (Powertools idempotency), keyed by route, caller and key, and expire with its TTL.
 */

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const DEFAULT_TTL_SECONDS = 24 * 3600;

export interface IdempotentCall<T> {
  /** Route name: the same key on two routes means two requests. */
  scope: string;
  caller: string;
  key: string | undefined;
  /** The request as the caller sent it; the same key with another payload is refused. */
  payload: unknown;
  context?: Context;
  run: () => Promise<T>;
}

export type Idempotency = <T>(call: IdempotentCall<T>) => Promise<T>;

export function idempotencyKey(headers: Record<string, string>): string | undefined {
  const key = headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!KEY_PATTERN.test(key)) {
    throw new InvalidInput('headers.idempotency-key: expected 1 to 255 printable ASCII characters', {
      details: [
        { location: 'headers', field: 'idempotency-key', message: 'expected 1 to 255 printable ASCII characters' },
      ],
    });
  }
  return key;
}

export function dynamoDbIdempotency(
  client: DynamoDBClient,
  tableName: string,
  ttlSeconds = DEFAULT_TTL_SECONDS,
): Idempotency {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName,
    awsSdkV3Client: client,
    keyAttr: 'pk',
    sortKeyAttr: 'sk',
    staticPkValue: 'IDEMPOTENCY',
    expiryAttr: 'expiresAt',
  });
  const wrappers = new Map<
    string,
    { config: IdempotencyConfig; fn: (data: unknown, run: () => Promise<unknown>) => Promise<unknown> }
  >();
  const wrapperFor = (scope: string) => {
    let wrapper = wrappers.get(scope);
    if (!wrapper) {
      const config = new IdempotencyConfig({
        eventKeyJmesPath: 'key',
        payloadValidationJmesPath: 'payload',
        expiresAfterSeconds: ttlSeconds,
        throwOnNoIdempotencyKey: true,
      });
      const fn = makeIdempotent((_data: unknown, run: () => Promise<unknown>) => run(), {
        persistenceStore,
        config,
        keyPrefix: scope,
        dataIndexArgument: 0,
      });
      wrapper = { config, fn };
      wrappers.set(scope, wrapper);
    }
    return wrapper;
  };

  return async <T>(call: IdempotentCall<T>): Promise<T> => {
    if (call.key === undefined) return call.run();
    const wrapper = wrapperFor(call.scope);
    if (call.context) wrapper.config.registerLambdaContext(call.context);
    try {
      return (await wrapper.fn({ key: `${call.caller}:${call.key}`, payload: call.payload }, call.run)) as T;
    } catch (error) {
      if (error instanceof IdempotencyValidationError) {
        throw new Unprocessable('this Idempotency-Key was already used with a different request; use a new key', {
          cause: error,
        });
      }
      if (error instanceof IdempotencyAlreadyInProgressError) {
        throw new Conflict('a request with this Idempotency-Key is still in progress; retry after it ends', {
          cause: error,
        });
      }
      throw error;
    }
  };
}

/** For tests and for stages without a table: every call runs. */
export const noIdempotency: Idempotency = (call) => call.run();
