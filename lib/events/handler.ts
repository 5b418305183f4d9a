import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import '../errors/validation';
import { correlationIdPaths, logger, metrics } from '../observability';
import type { DeadLetterEvent, DeadLetters } from './dead-letter';

/** EventBridge's `Scheduled Event` (and `npm start`'s copy of it); marked pure, so only the functions that read it carry it. */
export const scheduledEventSchema = /* @__PURE__ */ (() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    'detail-type': z.literal('Scheduled Event'),
    source: z.literal('aws.events'),
    time: z.string(),
  }))();

export interface EventHandlerDeps {
  deadLetters: DeadLetters;
  /**
   * The ids of the accounts config names (memberAccountIds), whose events are heard besides the control
   * plane's own; absent, none is. Asked only for an event from another account, so the functions whose
   * events never come from one read no config for it.
   */
  memberAccounts?: () => ReadonlySet<string>;
}

export type EventResult<R> =
  | { handled: true; result: R }
  | { handled: false; deadLettered: true; reason: string }
  | { handled: false; ignored: true; reason: string };

/** The account a Lambda function runs in, from its ARN; none on this machine, where serverless-offline names no account. */
const ownAccount = (context: Context): string | undefined =>
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:(\d{12}):function:/.exec(context.invokedFunctionArn ?? '')?.[1];

/**
 * The account an event names when it is neither the control plane's own nor one config names: the bus takes
 * events from the configured accounts only (resources/event-bus-policy.yml), so such an event is forged or
 * stale, and no handler may act on it. An event naming no account (a worker job) is not EventBridge's.
 */
export function foreignAccount(
  event: unknown,
  context: Context,
  members: () => ReadonlySet<string>,
): string | undefined {
  const account = (event as { account?: unknown } | null)?.account;
  const own = ownAccount(context);
  if (typeof account !== 'string' || own === undefined || account === own || members().has(account)) return undefined;
  return account;
}

const NO_MEMBERS: ReadonlySet<string> = new Set();

/**
 * An EventBridge-triggered function: the middy chain (logger with the event id,
 * metrics) around a plain async function. An event that does not match the schema is
 * logged with its id and kept in the dead-letter queue; it is never retried, never lost.
 * Anything the handler throws is left to Lambda's retries and on-failure destination.
 */
export function eventHandler<Schema extends z.core.$ZodType, R>(
  spec: { name: string; schema: Schema },
  deps: EventHandlerDeps,
  handle: (event: z.output<Schema>, context: Context) => Promise<R>,
) {
  const members = deps.memberAccounts ?? (() => NO_MEMBERS);
  const core = async (event: unknown, context: Context): Promise<EventResult<R>> => {
    metrics.addDimension('Handler', spec.name);
    const foreign = foreignAccount(event, context, members);
    if (foreign !== undefined) {
      const reason = `${spec.name} ignores this event: account ${foreign} is neither the control plane's nor one config names under accounts`;
      logger.warn('event from an unknown account ignored', {
        eventId: (event as { id?: unknown }).id,
        account: foreign,
        reason,
      });
      metrics.addMetric('EventsFromUnknownAccounts', MetricUnit.Count, 1);
      return { handled: false, ignored: true, reason };
    }
    const parsed = z.safeParse(spec.schema, event);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const reason = `${spec.name} cannot handle this event: ${first ? `${first.path.join('.') || 'event'}: ${first.message}` : 'invalid'}`;
      const eventId = (event as { id?: unknown } | null)?.id;
      logger.warn('event rejected', { eventId, reason, issues: parsed.error.issues.slice(0, 5) });
      metrics.addMetric('EventsDeadLettered', MetricUnit.Count, 1);
      const letter = (event !== null && typeof event === 'object' ? event : { value: event }) as DeadLetterEvent;
      await deps.deadLetters.send(letter, reason);
      return { handled: false, deadLettered: true, reason };
    }
    metrics.addMetric('EventsHandled', MetricUnit.Count, 1);
    return { handled: true, result: await handle(parsed.data, context) };
  };

  return middy<unknown, EventResult<R>, Error, Context>()
    .use(injectLambdaContext(logger, { correlationIdPath: correlationIdPaths.eventBridge, resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(core);
}
