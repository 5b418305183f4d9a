import { metrics } from '../observability';

/** The gauges the staleness alarms watch (lib/backup/alarms.ts). */
export type AgeMetric = 'NewestBackupAgeMinutes' | 'NewestDrillAgeMinutes';

// None yet reads as very old: the alarm fires until the first one succeeds.
const NEVER_MINUTES = 10_000_000;

/** Minutes since `since` (none: never), with exactly the dimensions the alarm selects. */
export function publishAgeMinutes(
  metric: AgeMetric,
  dimensions: Record<string, string>,
  since: string | undefined,
  now: Date,
): void {
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  single.setDefaultDimensions(dimensions);
  const minutes = since === undefined ? NEVER_MINUTES : (now.getTime() - Date.parse(since)) / 60_000;
  single.addMetric(metric, 'Count', Math.round(Math.min(Math.max(minutes, 0), NEVER_MINUTES)));
}
