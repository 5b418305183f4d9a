import { eventHandler, scheduledEventSchema } from '../../../lib/events/handler';
import { httpRoute } from '../../../lib/http/route-chain';
import { correlationIdPaths, logger, valueAtPath } from '../../../lib/observability';
import { lambdaContext } from '../../support/http';

describe('correlation ids in every log line', () => {
  it('reads a dotted path of plain keys, and nothing where the path is missing', () => {
    const event = { requestContext: { requestId: 'r-1' }, id: 'e-1' };
    expect(valueAtPath(correlationIdPaths.http, event)).toBe('r-1');
    expect(valueAtPath(correlationIdPaths.eventBridge, event)).toBe('e-1');
    expect(valueAtPath(correlationIdPaths.http, { requestContext: 'r-1' })).toBeUndefined();
    expect(valueAtPath(correlationIdPaths.http, null)).toBeUndefined();
  });

  it("a route's lines carry API Gateway's request id", async () => {
    // given a public route that notes the logger's correlation id
    let seen: unknown;
    const route = httpRoute({ name: 'probe', access: 'public', scope: 'open' }, {}, async () => {
      seen = logger.getCorrelationId();
      return { status: 204 };
    });
    // when it answers a request
    await route(
      { rawPath: '/probe', headers: {}, requestContext: { requestId: 'req-42', http: { method: 'GET' } } } as never,
      lambdaContext(),
    );
    // then every line it logs names the request
    expect(seen).toBe('req-42');
  });

  it("an event handler's lines carry the event's id", async () => {
    // given an event handler that notes the logger's correlation id
    let seen: unknown;
    const handle = eventHandler(
      { name: 'probe', schema: scheduledEventSchema },
      { deadLetters: { send: async () => undefined } },
      async () => {
        seen = logger.getCorrelationId();
      },
    );
    // when it handles a scheduled event
    await handle(
      { id: 'evt-7', 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-12-06T07:00:00Z' },
      lambdaContext(),
    );
    // then every line it logs names the event
    expect(seen).toBe('evt-7');
  });
});
