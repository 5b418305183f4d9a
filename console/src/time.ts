/**
 * Times as the console shows them: in the viewer's time zone (or the one given), with the instant in
 * UTC beside them for `<time>`; ages and durations in short words.
 */

export interface TimeFormatOptions {
  timeZone?: string;
  locale?: string;
}

/** The instant as ISO 8601 in UTC; a value that is not a time is returned as it is. */
export function utcIso(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  return value.endsWith('Z') ? value : new Date(ms).toISOString();
}

/** `<time title>`: the instant in UTC, said to be UTC. */
export const utcTitle = (value: string) => `${utcIso(value)} UTC`;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Date and time to the second in the viewer's (or the given) time zone, with the zone's name. */
export function formatTime(value: string, options: TimeFormatOptions = {}): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  const key = `${options.locale ?? ''}|${options.timeZone ?? ''}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(options.locale, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    });
    formatters.set(key, formatter);
  }
  return formatter.format(ms);
}

/** `3 h ago`, `in 5 min`: how far an instant is from now, in its largest whole unit. */
export function formatAge(value: string, now: number): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  const seconds = Math.round((now - ms) / 1000);
  const span = Math.abs(seconds);
  if (span < 5) return 'just now';
  const amount =
    span < 60
      ? `${span} s`
      : span < 3600
        ? `${Math.floor(span / 60)} min`
        : span < 86_400
          ? `${Math.floor(span / 3600)} h`
          : `${Math.floor(span / 86_400)} d`;
  return seconds >= 0 ? `${amount} ago` : `in ${amount}`;
}

/** `1 h 2 min`, `4 min 10 s`, `42 s`: a duration in its two largest units. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}
