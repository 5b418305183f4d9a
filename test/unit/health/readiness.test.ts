import { checkReadiness, type DependencyCheck, runCheck, summarise } from '../../../lib/health/readiness';

const healthy = (name: string): DependencyCheck => ({ name, probe: async () => undefined });
const failing = (name: string, message: string): DependencyCheck => ({
  name,
  probe: async () => {
    throw Object.assign(new Error(message), { name: 'NoSuchBucket' });
  },
});
const hanging = (name: string): DependencyCheck => ({
  name,
  probe: (signal) =>
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
});

describe('readiness', () => {
  it('is healthy when every check answers, with a latency for each', async () => {
    const report = await checkReadiness([healthy('stateTable'), healthy('backupBucket')], 500);
    expect(report).toEqual({
      status: 'healthy',
      failing: [],
      checks: {
        stateTable: { status: 'healthy', latency_ms: expect.any(Number) },
        backupBucket: { status: 'healthy', latency_ms: expect.any(Number) },
      },
    });
  });

  it('names each failing check with the class of failure', async () => {
    const report = await checkReadiness([healthy('stateTable'), failing('backupBucket', 'bucket gone')], 500);
    expect(report.status).toBe('unhealthy');
    expect(report.failing).toEqual(['backupBucket']);
    expect(report.checks.backupBucket).toEqual({
      status: 'unhealthy',
      latency_ms: expect.any(Number),
      error: 'NoSuchBucket: bucket gone',
    });
  });

  it('gives each check its own deadline, so one slow dependency delays nothing else', async () => {
    const started = performance.now();
    const report = await checkReadiness([hanging('ecs'), healthy('stateTable')], 100);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(report.checks.ecs).toEqual({
      status: 'unhealthy',
      latency_ms: expect.any(Number),
      error: 'no answer within 100 ms',
    });
    expect(report.checks.stateTable?.status).toBe('healthy');
  });

  it('reports a skipped check without running it, and a skip does not fail readiness', async () => {
    let ran = false;
    const skipped: DependencyCheck = {
      name: 'ecs',
      probe: async () => {
        ran = true;
      },
      skipReason: async () => 'no endpoint and no credentials',
    };
    expect(await runCheck(skipped, 100)).toEqual({
      status: 'skipped',
      latency_ms: expect.any(Number),
      reason: 'no endpoint and no credentials',
    });
    expect(ran).toBe(false);
    expect(summarise({ ecs: { status: 'skipped', latency_ms: 0 } }).status).toBe('healthy');
  });
});
