import { formatAge, formatDuration, formatTime, utcIso, utcTitle } from '../../../console/src/time';

describe('times', () => {
  const instant = '2026-12-06T10:05:30.000Z';

  it('shows an instant in the given time zone, with its name', () => {
    // given India's zone, 5 h 30 ahead of UTC, when the instant is shown, then it is 15:35:30 IST
    expect(formatTime(instant, { timeZone: 'Asia/Kolkata', locale: 'en-GB' })).toBe('6 Dec 2026, 15:35:30 GMT+5:30');
    expect(formatTime(instant, { timeZone: 'UTC', locale: 'en-GB' })).toBe('6 Dec 2026, 10:05:30 UTC');
    // and across midnight in a zone behind UTC, the local date
    expect(formatTime('2026-12-06T02:00:00Z', { timeZone: 'America/Los_Angeles', locale: 'en-US' })).toBe(
      'Dec 5, 2026, 06:00:00 PM PST',
    );
  });

  it('puts the instant in UTC in <time>, and says so in its title', () => {
    expect(utcIso(instant)).toBe(instant);
    expect(utcIso('2026-12-06T15:35:30+05:30')).toBe(instant);
    expect(utcTitle('2026-12-06T15:35:30+05:30')).toBe('2026-12-06T10:05:30.000Z UTC');
  });

  it('leaves a value that is not a time as it is', () => {
    expect(formatTime('soon', { timeZone: 'UTC' })).toBe('soon');
    expect(utcIso('soon')).toBe('soon');
  });

  it.each([
    [2, 'just now'],
    [42, '42 s ago'],
    [59 * 60 + 59, '59 min ago'],
    [3 * 3600 + 1800, '3 h ago'],
    [49 * 3600, '2 d ago'],
    [-300, 'in 5 min'],
  ])('says an instant %i s before now is %s', (seconds, text) => {
    const now = Date.parse(instant);
    expect(formatAge(new Date(now - seconds * 1000).toISOString(), now)).toBe(text);
  });

  it.each([
    [42, '42 s'],
    [754, '12 min 34 s'],
    [600, '10 min'],
    [3720, '1 h 2 min'],
    [7200, '2 h'],
  ])('writes a duration of %i s as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
