import { formatAge, formatTime, utcIso, utcTitle } from '../time';

/** An instant in the viewer's time zone, with the UTC instant machine-readable and on hover. */
export function Time({ value }: { value: string }) {
  return (
    <time dateTime={utcIso(value)} title={utcTitle(value)}>
      {formatTime(value)}
    </time>
  );
}

/** An instant as an age ("3 h ago"), with the UTC instant machine-readable and on hover. */
export function Age({ value, now }: { value: string; now: number }) {
  return (
    <time dateTime={utcIso(value)} title={utcTitle(value)}>
      {formatAge(value, now)}
    </time>
  );
}
