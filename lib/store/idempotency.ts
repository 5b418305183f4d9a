import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { Conflict, Unprocessable } from '../errors';

/**
 * Calls made once per key: a retried request (an `Idempotency-Key`, an event delivered twice, an alarm
 * state change) returns the first call's answer instead of doing the work twice. Records live on the
 * state table (Powertools idempotency), keyed by scope, caller and key, and expire with its TTL.
 */

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
