/**
 * Readiness of the control plane: each dependency is checked concurrently,
 * each under its own deadline, and reported with how long it took.
 */
export type CheckStatus = 'healthy' | 'unhealthy' | 'skipped';

export interface CheckReport {
  status: CheckStatus;
  latency_ms: number;
  error?: string;
  reason?: string;
}

export interface DependencyCheck {
  name: string;
  /** Resolves when the dependency answered as expected; rejects with why not. */
  probe: (signal: AbortSignal) => Promise<void>;
  /** When it returns a reason, the check is skipped instead of run (local stage only). */
  skipReason?: () => Promise<string | undefined>;
}

export interface ReadinessReport {
  status: 'healthy' | 'unhealthy';
  failing: string[];
  checks: Record<string, CheckReport>;
}

export class CheckTimedOut extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'CheckTimedOut';
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof CheckTimedOut) return error.message;
  if (error instanceof Error) {
    const code = (error as { Code?: string; code?: string }).Code ?? (error as { code?: string }).code;
    const name = error.name && error.name !== 'Error' ? error.name : code;
    // Only the class of failure and a short message: a check's report is seen by any viewer.
    return `${name ? `${name}: ` : ''}${error.message}`.slice(0, 200);
  }
  return 'failed';
}

export async function runCheck(check: DependencyCheck, timeoutMs: number): Promise<CheckReport> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const reason = await check.skipReason?.();
  if (reason) return { status: 'skipped', latency_ms: elapsed(), reason };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Settle as timed out first: the aborted call's own rejection would otherwise win the race.
      reject(new CheckTimedOut(timeoutMs));
      controller.abort();
    }, timeoutMs);
  });
  try {
    await Promise.race([check.probe(controller.signal), deadline]);
    return { status: 'healthy', latency_ms: elapsed() };
  } catch (error) {
    return { status: 'unhealthy', latency_ms: elapsed(), error: describeFailure(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function summarise(checks: Record<string, CheckReport>): ReadinessReport {
  const failing = Object.entries(checks)
    .filter(([, report]) => report.status === 'unhealthy')
    .map(([name]) => name);
  return { status: failing.length === 0 ? 'healthy' : 'unhealthy', failing, checks };
}

export async function checkReadiness(checks: DependencyCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const reports = await Promise.all(checks.map((check) => runCheck(check, timeoutMs)));
  return summarise(Object.fromEntries(checks.map((check, index) => [check.name, reports[index] as CheckReport])));
}
