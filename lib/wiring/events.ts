import { createSqsClient } from '../aws/clients/sqs';
import { traced } from '../aws/traced';
import { sqsDeadLetters } from '../events/dead-letter';
import type { EventHandlerDeps } from '../events/handler';
import { environment } from './environment';

let cached: EventHandlerDeps | undefined;

/** What every EventBridge-triggered function needs beside its use case: where events it cannot handle go. */
export function eventHandlerDeps(): EventHandlerDeps {
  cached ??= { deadLetters: sqsDeadLetters(traced(createSqsClient), environment().deadLetterQueueUrl) };
  return cached;
}
