import { createSqsClient } from '../aws/clients/sqs';
import { shared } from '../aws/shared-clients';
import { sqsDeadLetters } from '../events/dead-letter';
import type { EventHandlerDeps } from '../events/handler';
import { environment } from './environment';

let cached: EventHandlerDeps | undefined;

/** What every EventBridge-triggered function needs beside its use case: where events it cannot handle go. */
export function eventHandlerDeps(): EventHandlerDeps {
  cached ??= { deadLetters: sqsDeadLetters(shared(createSqsClient), environment().deadLetterQueueUrl) };
  return cached;
}
