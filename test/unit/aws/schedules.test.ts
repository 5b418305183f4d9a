import { nextRun, parseSchedule, scheduledEvent } from '../../../lib/aws/schedules';

const at = (iso: string) => new Date(iso);

describe('parseSchedule and nextRun', () => {
  it.each([
    ['rate(1 minute)', '2026-11-22T10:00:30Z', '2026-11-22T10:00:00Z', '2026-11-22T10:01:00Z'],
    ['rate(5 minutes)', '2026-11-22T10:07:00Z', '2026-11-22T10:00:00Z', '2026-11-22T10:10:00Z'],
    ['rate(2 hours)', '2026-11-22T10:00:00Z', '2026-11-22T10:00:00Z', '2026-11-22T12:00:00Z'],
    ['rate(1 day)', '2026-11-22T10:00:00Z', '2026-11-22T09:00:00Z', '2026-11-23T09:00:00Z'],
  ])('%s after %s (started %s) fires at %s', (expression, after, started, expected) => {
    expect(nextRun(parseSchedule(expression), at(after), at(started)).toISOString()).toBe(at(expected).toISOString());
  });

  it.each([
    ['cron(0 3 * * ? *)', '2026-11-22T10:00:00Z', '2026-11-23T03:00:00Z'],
    ['cron(0 3 * * ? *)', '2026-11-22T02:59:59Z', '2026-11-22T03:00:00Z'],
    ['cron(30 3 * * ? *)', '2026-11-22T03:30:00Z', '2026-11-23T03:30:00Z'],
    ['cron(0/15 * * * ? *)', '2026-11-22T10:01:00Z', '2026-11-22T10:15:00Z'],
    ['cron(0 9 ? * MON-FRI *)', '2026-11-21T10:00:00Z', '2026-11-23T09:00:00Z'], // Saturday → Monday
    ['cron(0 0 1 JAN ? *)', '2026-11-22T10:00:00Z', '2027-01-01T00:00:00Z'],
    ['cron(0 12 15 * ? 2027)', '2026-11-22T10:00:00Z', '2027-01-15T12:00:00Z'],
    ['cron(0 8 ? * 1 *)', '2026-11-22T10:00:00Z', '2026-11-29T08:00:00Z'], // 1 is Sunday in EventBridge
  ])('%s after %s fires at %s', (expression, after, expected) => {
    expect(nextRun(parseSchedule(expression), at(after)).toISOString()).toBe(at(expected).toISOString());
  });

  it.each([
    ['rate(0 minutes)', 'is not a rate() or six-field cron() expression'],
    ['cron(0 3 * * ?)', 'is not a rate() or six-field cron() expression'],
    ['cron(0 3 L * ? *)', 'L, W and # are not supported locally'],
    ['cron(61 3 * * ? *)', '61 is outside 0-59'],
    ['every day', 'is not a rate() or six-field cron() expression'],
  ])('refuses %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(message);
  });

  it('builds the EventBridge scheduled event shape', () => {
    const event = scheduledEvent(
      'arn:aws:events:us-east-1:000000000000:rule/x',
      at('2026-11-22T03:00:00.000Z'),
      'us-east-1',
    );
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-11-22T03:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/x'],
      detail: {},
    });
  });
});
