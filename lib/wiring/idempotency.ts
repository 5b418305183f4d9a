import { createDocumentClient } from '../aws/clients/dynamodb';
import { shared } from '../aws/shared-clients';
import { dynamoDbIdempotency, type Idempotency } from '../store/idempotency';
import { environment } from './environment';

let cached: Idempotency | undefined;

/** Calls made once per key, recorded on the state table: requests with an Idempotency-Key, alarm changes, pushes. */
export function idempotency(): Idempotency {
  cached ??= dynamoDbIdempotency(shared(createDocumentClient), environment().stateTable);
  return cached;
}
