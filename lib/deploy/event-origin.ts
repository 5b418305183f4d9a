import { logger, metrics } from '../observability';

/**
 * Events that name a resource of an account config names, forwarded from that account (EventBridge keeps an
 * event's `account` and `region` when a rule sends it to another account's bus: EventBridge User Guide, "Sending
 * and receiving events between AWS accounts in Amazon EventBridge"), are acted on only when they come from where
 * the resource is: any account config names may put events on the control plane's bus, and one could claim
 * another's resource.
 */

/**
 * Why an event naming a resource Slipway manages is ignored when it comes from elsewhere than that resource:
 * logged with the event's id, counted under `metric`.
 */
export function ignoredFromElsewhere(
  event: { id: string; account: string; region?: string | undefined },
  owner: { what: string; account: string; region: string },
  log: { message: string; metric: string; fields: Record<string, string> },
): string {
  const reason = `the event comes from account ${event.account} in ${event.region ?? 'no region'}, but ${owner.what} is in account ${owner.account} in ${owner.region}`;
  logger.warn(log.message, { eventId: event.id, ...log.fields, reason });
  metrics.addMetric(log.metric, 'Count', 1);
  return reason;
}
