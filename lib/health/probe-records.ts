import { logger } from '../observability';
import type { CheckResult, EnvironmentHealth, HealthStore } from '../store/health';
import type { ProbeResult } from './probe';

/** The probes' results kept per environment, for the console's board and the environment view. */

export interface EnvironmentResults {
  app: string;
  environment: string;
  health: EnvironmentHealth;
}

export function resultsByEnvironment(results: ReadonlyArray<ProbeResult>, checkedAt: Date): EnvironmentResults[] {
  const grouped = new Map<string, EnvironmentResults>();
  for (const { app, environment, ...result } of results) {
    const key = `${app}\u0000${environment}`;
    let entry = grouped.get(key);
    if (!entry) {
      entry = { app, environment, health: { checkedAt: checkedAt.toISOString(), checks: [] } };
      grouped.set(key, entry);
    }
    const check: CheckResult = result;
    entry.health.checks.push(check);
  }
  return [...grouped.values()];
}

/** Each environment's results replace its last ones; a write that fails is logged and counted, not thrown. */
export async function recordProbeResults(
  store: Pick<HealthStore, 'put'>,
  results: ReadonlyArray<ProbeResult>,
  checkedAt: Date,
): Promise<{ unrecorded: number }> {
  const entries = resultsByEnvironment(results, checkedAt);
  const outcomes = await Promise.allSettled(
    entries.map(({ app, environment, health }) => store.put(app, environment, health)),
  );
  let unrecorded = 0;
  outcomes.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    const { app, environment } = entries[index] as EnvironmentResults;
    unrecorded += 1;
    logger.error('health check results not recorded', { app, environment, error: outcome.reason as Error });
  });
  return { unrecorded };
}
