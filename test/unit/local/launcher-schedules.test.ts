import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const LauncherSchedules = require('../../../serverless/launcher-schedules.cjs') as new (
  serverless: unknown,
) => { hooks: Record<string, () => void> };

function service() {
  return {
    service: {
      functions: {
        reconcileDeployments: { events: [{ schedule: 'rate(5 minutes)' }] },
        createDeployment: { events: [{ httpApi: { method: 'POST', path: '/v1/deployments' } }] },
      },
    },
  };
}

describe('the schedules serverless-offline is given', () => {
  const previous = process.env.SLIPWAY_LAUNCHER_RUNS_SCHEDULES;
  afterEach(() => {
    if (previous === undefined) delete process.env.SLIPWAY_LAUNCHER_RUNS_SCHEDULES;
    else process.env.SLIPWAY_LAUNCHER_RUNS_SCHEDULES = previous;
  });

  it('are none when the launcher runs them itself, so nothing runs twice', () => {
    // Given serverless-offline started by `npm start`
    process.env.SLIPWAY_LAUNCHER_RUNS_SCHEDULES = 'true';
    const serverless = service();

    // When offline starts
    new LauncherSchedules(serverless).hooks['before:offline:start:init']?.();

    // Then the schedule events are gone and the others kept
    expect(serverless.service.functions).toEqual({
      reconcileDeployments: { events: [] },
      createDeployment: { events: [{ httpApi: { method: 'POST', path: '/v1/deployments' } }] },
    });
  });

  it('are left alone anywhere else (sls offline by hand, packaging)', () => {
    delete process.env.SLIPWAY_LAUNCHER_RUNS_SCHEDULES;
    const serverless = service();
    new LauncherSchedules(serverless).hooks['before:offline:start']?.();
    expect(serverless).toEqual(service());
  });
});
