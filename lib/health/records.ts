/**
 * A health check's result as the probes last saw it, kept per environment: the probe's result, what the state
 * table keeps, and what GET /v1/apps/{app}/environments/{env} and the console show. Plain data, in a leaf module.
 */

export interface CheckResult {
  /** The Check dimension (checkName). */
  check: string;
  url: string;
  ok: boolean;
  status?: number;
  latencyMs?: number;
  certDaysRemaining?: number;
  /** One line, only when !ok; never a body, never a header value. */
  reason?: string;
}

export interface EnvironmentHealth {
  checkedAt: string;
  checks: CheckResult[];
}
