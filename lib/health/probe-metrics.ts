import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
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
