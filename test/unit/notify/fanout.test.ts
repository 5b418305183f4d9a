import { jest } from '@jest/globals';
import { fanOut } from '../../../lib/notify/fanout';
import type { Notification, Publisher } from '../../../lib/notify/publisher';
import { logger } from '../../../lib/observability';

const notification: Notification = {
  subject: 'Slipway: shop/production deploy SUCCEEDED',
  type: 'deployment.state',
  app: 'shop',
  environment: 'production',
  state: 'SUCCEEDED',
  body: { deployment: { id: 'dep-01J9ZK4V7Q' } },
};

/** A publisher answering `outcome`, after `delayMs`, recording what it was given. */
function publisher(outcome: boolean | Error, delayMs = 0) {
  const received: Notification[] = [];
  const fake: Publisher = {
    async publish(given) {
      received.push(given);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
  return { fake, received };
}

afterEach(() => jest.restoreAllMocks());

describe('fanOut', () => {
  it('publishes the same notification to every publisher and is true when all of them were', async () => {
    // Given two publishers that succeed
    const sns = publisher(true);
    const slack = publisher(true);

    // When a notification is published through both
    const published = await fanOut(sns.fake, slack.fake).publish(notification);

    // Then each got it, once, and the result is true
    expect(published).toBe(true);
    expect(sns.received).toEqual([notification]);
    expect(slack.received).toEqual([notification]);
  });

  it('is false when one publisher did not send, and still publishes to the others', async () => {
    // Given a publisher that fails before another that succeeds
    const slack = publisher(false);
    const sns = publisher(true);

    // When a notification is published through both
    const published = await fanOut(slack.fake, sns.fake).publish(notification);

    // Then the failure shows in the result, and the other one still published
    expect(published).toBe(false);
    expect(sns.received).toEqual([notification]);
  });

  it('publishes in parallel: a slow publisher does not hold up the start of the others', async () => {
    // Given a slow publisher first
    const slow = publisher(true, 200);
    const fast = publisher(true);
    const starts: string[] = [];
    const watch = (name: string, inner: Publisher): Publisher => ({
      publish: (given) => {
        starts.push(name);
        return inner.publish(given);
      },
    });

    // When a notification is published through both
    const pending = fanOut(watch('slow', slow.fake), watch('fast', fast.fake)).publish(notification);

    // Then both were started before the slow one finished
    expect(starts).toEqual(['slow', 'fast']);
    expect(fast.received).toEqual([notification]);
    expect(await pending).toBe(true);
  });

  it('never throws: a publisher that throws (synchronously or not) counts as not sent, and is logged', async () => {
    // Given one publisher that throws before returning a promise, one that rejects, and one that works
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const rejecting = publisher(Object.assign(new Error('socket hang up'), { name: 'NetworkError' }));
    const throwing: Publisher = {
      publish: () => {
        throw new TypeError('not a function');
      },
    };
    const working = publisher(true);

    // When a notification is published through all three
    const published = await fanOut(throwing, rejecting.fake, working.fake).publish(notification);

    // Then it resolves false, the working one still published, and each throw was logged by name
    expect(published).toBe(false);
    expect(working.received).toEqual([notification]);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith('notification publisher threw', {
      errorName: 'NetworkError',
      type: 'deployment.state',
      app: 'shop',
      environment: 'production',
      state: 'SUCCEEDED',
    });
    expect(warn).toHaveBeenCalledWith(
      'notification publisher threw',
      expect.objectContaining({ errorName: 'TypeError' }),
    );
  });

  it('is false with no publishers: nothing was sent', async () => {
    expect(await fanOut().publish(notification)).toBe(false);
  });
});
