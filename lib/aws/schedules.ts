/**
 * EventBridge schedule expressions, evaluated as EventBridge does (UTC, minute resolution): so `npm start`
 * runs the scheduled functions on their schedules, and the backup alarms know how often a schedule fires.
 */
export type Schedule = { kind: 'rate'; everyMs: number } | { kind: 'cron'; fields: CronFields };

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number> | 'any';
  months: Set<number>;
  daysOfWeek: Set<number> | 'any';
  years: Set<number> | 'any';
}

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function parseField(text: string, min: number, max: number, names: string[] = [], namesBase = min): Set<number> {
  const values = new Set<number>();
  const toNumber = (token: string) => {
    const named = names.indexOf(token.toUpperCase());
    const value = named >= 0 ? named + namesBase : Number(token);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${token} is outside ${min}-${max}`);
    return value;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in ${part}`);
    let from = min;
    let to = max;
    if (range && range !== '*') {
      const [start, end] = range.split('-');
      from = toNumber(start ?? '');
      to = end === undefined ? (stepText === undefined ? from : max) : toNumber(end);
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate && Number(rate[1]) > 0) {
    const unit = (rate[2] ?? '').replace(/s$/, '');
    return { kind: 'rate', everyMs: Number(rate[1]) * (UNIT_MS[unit] ?? 0) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  const parts = cron?.[1]?.trim().split(/\s+/);
  if (parts?.length !== 6) throw new Error(`${expression} is not a rate() or six-field cron() expression`);
  const [minutes, hours, dom, months, dow, years] = parts as [string, string, string, string, string, string];
  if (/[LW#]/.test(`${dom}${dow}`)) throw new Error(`${expression}: L, W and # are not supported locally`);
  return {
    kind: 'cron',
    fields: {
      minutes: parseField(minutes, 0, 59),
      hours: parseField(hours, 0, 23),
      daysOfMonth: dom === '?' ? 'any' : parseField(dom, 1, 31),
      months: parseField(months, 1, 12, MONTHS, 1),
      // EventBridge numbers days of the week 1 (Sunday) to 7 (Saturday).
      daysOfWeek: dow === '?' ? 'any' : parseField(dow, 1, 7, DAYS, 1),
      years: years === '*' ? 'any' : parseField(years, 1970, 2199),
    },
  };
}

function cronMatches(fields: CronFields, at: Date): boolean {
  const matchesDay =
    (fields.daysOfMonth === 'any' || fields.daysOfMonth.has(at.getUTCDate())) &&
    (fields.daysOfWeek === 'any' || fields.daysOfWeek.has(at.getUTCDay() + 1));
  return (
    fields.minutes.has(at.getUTCMinutes()) &&
    fields.hours.has(at.getUTCHours()) &&
    fields.months.has(at.getUTCMonth() + 1) &&
    (fields.years === 'any' || fields.years.has(at.getUTCFullYear())) &&
    matchesDay
  );
}

const MAX_MINUTES_SEARCHED = 60 * 24 * 366 * 5;

/** The next time strictly after `after` at which the schedule fires. */
export function nextRun(schedule: Schedule, after: Date, startedAt: Date = after): Date {
  if (schedule.kind === 'rate') {
    const elapsed = after.getTime() - startedAt.getTime();
    return new Date(startedAt.getTime() + (Math.floor(elapsed / schedule.everyMs) + 1) * schedule.everyMs);
  }
  const candidate = new Date(after.getTime());
  candidate.setUTCSeconds(0, 0);
  for (let step = 0; step < MAX_MINUTES_SEARCHED; step++) {
    candidate.setUTCMinutes(candidate.getUTCMinutes() + 1);
    if (cronMatches(schedule.fields, candidate)) return candidate;
  }
  throw new Error('the schedule never fires in the next five years');
}

/** The event EventBridge sends a scheduled function. */
export function scheduledEvent(ruleArn: string, at: Date, region: string) {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [ruleArn],
    detail: {},
  };
}
