import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type CloudWatchClient,
  type MetricDatum,
  PutMetricDataCommand,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';
import type { SlipwayConfig } from '../config/schema';
import { logger } from '../observability';
import { healthAlarmPlace } from './alarm-placement';
import { METRIC_NAMESPACE } from './alarms';
import type { ProbeResult } from './probe';

/**
 * The metrics the health alarms read (lib/health/alarms.ts), written as EMF through the shared
 * Metrics instance so they land in its namespace.
 *
 * Each result gets its own `singleMetric()`: a result's dimensions differ from every other's, and
 * the buffered instance shares one dimension set per document. A single metric is written the
 * moment `addMetric()` is called and clears added dimensions when it does, so the check's
 * dimensions are set as its defaults (they survive each write) and each metric is one document.
 *
 * The dimension set is exactly App, Environment, Check: the alarms select that set, and CloudWatch
 * treats any other (Powertools' default `service` among them) as a different metric, so `service`
 * is dropped.
 *
 * Availability is a Count of 1 or 0 per probe: its Average is the fraction of probes that passed,
 * the alarm's statistic, and its Sum is the passing probes; the alarm names no unit, so any unit
 * would match, and Count says what one datapoint is.
 */
export function publishProbeMetrics(results: ProbeResult[], metrics: Metrics): void {
  for (const result of results) {
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.setDefaultDimensions({ App: result.app, Environment: result.environment, Check: result.check });
    single.addMetric('Availability', MetricUnit.Count, result.ok ? 1 : 0);
    if (result.latencyMs !== undefined) single.addMetric('LatencyMs', MetricUnit.Milliseconds, result.latencyMs);
    if (result.certDaysRemaining !== undefined) {
      single.addMetric('CertDaysRemaining', MetricUnit.Count, result.certDaysRemaining);
    }
  }
}

/** The probe results of the environments whose health metrics are in one place other than the control plane's EMF. */
export interface ResultsElsewhere {
  /** A member account and region, or (no account) another region of the control plane's account. */
  place: { account: string | undefined; region: string | undefined };
  results: ProbeResult[];
}

/**
 * The results the control plane writes as EMF (its own alarms read them, in `homeRegion`), and those read by the
 * alarms of each member account's and region's, and of each other region of the control plane's account
 * (lib/health/alarm-placement.ts). A result of an environment config no longer names stays at home.
 */
export function resultsByMetricsPlace(
  config: Pick<SlipwayConfig, 'apps'>,
  results: ProbeResult[],
  homeRegion: string,
): { home: ProbeResult[]; elsewhere: ResultsElsewhere[] } {
  const home: ProbeResult[] = [];
  const elsewhere = new Map<string, ResultsElsewhere>();
  for (const result of results) {
    const app = Object.hasOwn(config.apps, result.app) ? config.apps[result.app] : undefined;
    const env =
      app && Object.hasOwn(app.environments, result.environment) ? app.environments[result.environment] : undefined;
    const place = env ? healthAlarmPlace(env, homeRegion) : {};
    if (place.account === undefined && place.region === undefined) {
      home.push(result);
      continue;
    }
    const key = JSON.stringify([place.account, place.region]);
    const group = elsewhere.get(key) ?? { place: { account: place.account, region: place.region }, results: [] };
    group.results.push(result);
    elsewhere.set(key, group);
  }
  return { home, elsewhere: [...elsewhere.values()] };
}

/**
 * The datums PutMetricData takes for results: the same metrics, dimensions and units as the EMF documents above,
 * in the namespace the alarms select, stamped with the run's time.
 */
export function probeMetricData(results: ProbeResult[], timestamp: Date): MetricDatum[] {
  return results.flatMap((result) => {
    const datum = (name: string, unit: StandardUnit, value: number): MetricDatum => ({
      MetricName: name,
      Dimensions: [
        { Name: 'App', Value: result.app },
        { Name: 'Environment', Value: result.environment },
        { Name: 'Check', Value: result.check },
      ],
      Unit: unit,
      Value: value,
      Timestamp: timestamp,
    });
    return [
      datum('Availability', 'Count', result.ok ? 1 : 0),
      ...(result.latencyMs === undefined ? [] : [datum('LatencyMs', 'Milliseconds', result.latencyMs)]),
      ...(result.certDaysRemaining === undefined
        ? []
        : [datum('CertDaysRemaining', 'Count', result.certDaysRemaining)]),
    ];
  });
}

// PutMetricData takes at most 1,000 datums a request (CloudWatch API Reference, PutMetricData: MetricData).
const DATUMS_PER_REQUEST = 1_000;

/** Writes results' metrics with PutMetricData on `cloudWatch`, in Slipway's namespace. */
export async function putProbeMetrics(cloudWatch: CloudWatchClient, results: ProbeResult[], now: Date): Promise<void> {
  const data = probeMetricData(results, now);
  for (let start = 0; start < data.length; start += DATUMS_PER_REQUEST) {
    await cloudWatch.send(
      new PutMetricDataCommand({
        Namespace: METRIC_NAMESPACE,
        MetricData: data.slice(start, start + DATUMS_PER_REQUEST),
      }),
    );
  }
}

export interface ProbePublishing {
  metrics: Metrics;
  /** The control plane's region, where its EMF metrics land. */
  homeRegion: string;
  /** CloudWatch in a member account's region, as that account's role; in another region of home, as the function. */
  cloudWatchIn: (place: { account: string | undefined; region: string | undefined }) => CloudWatchClient;
  now: () => Date;
}

/**
 * Every result's metrics where its environment's health alarms read them: the control plane's as EMF, the others
 * with PutMetricData where they are. An account that cannot be written to (its role refused, CloudWatch failing)
 * keeps no other from being written: its alarms go without the minute's data, which they take as breaching.
 */
export async function publishProbeResults(
  config: Pick<SlipwayConfig, 'apps'>,
  results: ProbeResult[],
  publishing: ProbePublishing,
): Promise<{ unpublished: number }> {
  const { home, elsewhere } = resultsByMetricsPlace(config, results, publishing.homeRegion);
  publishProbeMetrics(home, publishing.metrics);
  const now = publishing.now();
  const outcomes = await Promise.allSettled(
    elsewhere.map(({ place, results: theirs }) => putProbeMetrics(publishing.cloudWatchIn(place), theirs, now)),
  );
  let unpublished = 0;
  outcomes.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    const { place, results: theirs } = elsewhere[index] as ResultsElsewhere;
    unpublished += theirs.length;
    logger.error('probe metrics not published in another account or region', {
      account: place.account,
      region: place.region,
      checks: theirs.length,
      error: outcome.reason as Error,
    });
  });
  if (unpublished > 0) publishing.metrics.addMetric('ProbeMetricsUnpublished', MetricUnit.Count, unpublished);
  return { unpublished };
}
