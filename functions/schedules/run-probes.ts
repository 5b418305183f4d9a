import { type EventHandlerDeps, eventHandler, scheduledEventSchema } from '../../lib/events/handler';
import { type ProbeOptions, type ProbeResult, type ProbeTarget, probeAll, probeTargets } from '../../lib/health/probe';
import { publishProbeResults } from '../../lib/health/probe-metrics';
import { recordProbeResults } from '../../lib/health/probe-records';
import { logger } from '../../lib/observability';
import { config } from '../../lib/wiring/config';
import { eventHandlerDeps } from '../../lib/wiring/events';
import { probeOptions, probePublishing } from '../../lib/wiring/probes';
import { healthStore } from '../../lib/wiring/stores';

export interface RunProbesDeps extends EventHandlerDeps {
  targets: ProbeTarget[];
  options: ProbeOptions;
  probe?: (targets: ProbeTarget[], options: ProbeOptions) => Promise<ProbeResult[]>;
  /** Writes the results' metrics where their alarms read them; answers how many could not be. */
  publish?: (results: ProbeResult[]) => Promise<{ unpublished: number }>;
  /** Keeps each environment's results for the console and the environment view; answers how many could not be. */
  record?: (results: ProbeResult[], checkedAt: Date) => Promise<{ unrecorded: number }>;
  now?: () => Date;
}

/**
 * Every minute (probes.schedule): every environment's health checks, as metrics the alarms watch: EMF at home,
 * PutMetricData in the member account of an environment placed there.
 */
export function makeHandler(deps: RunProbesDeps) {
  const probe = deps.probe ?? probeAll;
  const publish =
    deps.publish ?? ((results: ProbeResult[]) => publishProbeResults(config(), results, probePublishing()));
  const record = deps.record ?? ((results: ProbeResult[], at: Date) => recordProbeResults(healthStore(), results, at));
  const now = deps.now ?? (() => new Date());
  return eventHandler({ name: 'runProbes', schema: scheduledEventSchema }, deps, async () => {
    const started = performance.now();
    const checkedAt = now();
    const results = await probe(deps.targets, deps.options);
    const [{ unpublished }, { unrecorded }] = await Promise.all([publish(results), record(results, checkedAt)]);
    const failed = results.filter((result) => !result.ok);
    for (const result of failed) logger.warn('health check failed', { ...result });
    const summary = {
      checks: results.length,
      failed: failed.length,
      ...(unpublished > 0 ? { unpublished } : {}),
      ...(unrecorded > 0 ? { unrecorded } : {}),
      ms: Math.round(performance.now() - started),
    };
    logger.info('health checks run', summary);
    return summary;
  });
}

function defaultDeps(): RunProbesDeps {
  return {
    targets: probeTargets(config()),
    options: probeOptions(),
    ...eventHandlerDeps(),
  };
}

export const handler = makeHandler(defaultDeps());
