/**
 * One notification to several publishers (SNS and Slack), all at once: a slow or failing
 * one neither delays nor stops the others.
 */
import { logger } from '../observability';
import type { Publisher } from './publisher';

function errorName(error: unknown): string {
  // By shape, not instanceof: fetch's errors come from another realm where tests run in a VM context.
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : 'UnknownError';
}

/** Publishes to every publisher in parallel; true when each one did (none given: nothing was sent, false). Never throws. */
export function fanOut(...publishers: Publisher[]): Publisher {
  return {
    async publish(notification) {
      if (publishers.length === 0) return false;
      // async, so that a publisher throwing before its first await is a rejection here too, not a throw.
      const results = await Promise.allSettled(publishers.map(async (publisher) => publisher.publish(notification)));
      for (const result of results) {
        if (result.status === 'rejected') {
          // Publishers promise never to throw; one that does is a bug to see, not a reason to fail the others.
          logger.warn('notification publisher threw', {
            errorName: errorName(result.reason),
            type: notification.type,
            app: notification.app,
            environment: notification.environment,
            state: notification.state,
          });
        }
      }
      return results.every((result) => result.status === 'fulfilled' && result.value === true);
    },
  };
}
