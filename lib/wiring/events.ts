import { createSqsClient } from '../aws/clients/sqs';
import { shared } from '../aws/shared-clients';
import { memberAccountIds } from '../config/account-ids';
import { sqsDeadLetters } from '../events/dead-letter';
import type { EventHandlerDeps } from '../events/handler';
import { config } from './config';
import { environment } from './environment';

let cached: EventHandlerDeps | undefined;
let members: ReadonlySet<string> | undefined;

/**
 * What every EventBridge-triggered function needs beside its use case: where events it cannot handle go,
 * and the member accounts whose events it hears.
 */
export function eventHandlerDeps(): EventHandlerDeps {
  cached ??= {
    deadLetters: sqsDeadLetters(shared(createSqsClient), environment().deadLetterQueueUrl),
    memberAccounts: () => {
      members ??= new Set(Object.values(memberAccountIds(config().accounts)));
      return members;
    },
  };
  return cached;
}
