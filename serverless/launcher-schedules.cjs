// Under `npm start` the launcher runs the schedules itself, reading EventBridge expressions in UTC.
// serverless-offline would run them a second time, in local time and without `?` in cron
// expressions, so when the launcher starts it, the schedule events are taken away from it.
// The launcher also needs the service as serverless resolved it (the resources it creates, the
// schedules it runs): this process writes it to SLIPWAY_LAUNCHER_SERVICE_FILE once resolved, so
// the launcher starts one serverless process, not a second one to print it.
const { renameSync, writeFileSync } = require('node:fs');

class LauncherSchedules {
  constructor(serverless) {
    this.hooks = {
      initialize: () => this.describe(serverless),
      'before:offline:start': () => this.handOver(serverless),
      'before:offline:start:init': () => this.handOver(serverless),
    };
  }

  describe(serverless) {
    const file = process.env.SLIPWAY_LAUNCHER_SERVICE_FILE;
    if (!file) return;
    const service = serverless.service;
    const functions = Object.fromEntries(
      Object.entries(service.functions ?? {}).map(([key, fn]) => [
        key,
        { handler: fn.handler, name: fn.name, events: fn.events ?? [] },
      ]),
    );
    const described = {
      service: service.service,
      provider: { region: service.provider?.region, environment: service.provider?.environment },
      functions,
      resources: { Resources: service.resources?.Resources ?? {} },
    };
    // Whole or not at all: the launcher reads it as soon as it exists.
    writeFileSync(`${file}.partial`, JSON.stringify(described));
    renameSync(`${file}.partial`, file);
  }

  handOver(serverless) {
    if (process.env.SLIPWAY_LAUNCHER_RUNS_SCHEDULES !== 'true') return;
    for (const fn of Object.values(serverless.service.functions ?? {})) {
      fn.events = (fn.events ?? []).filter((event) => !event.schedule);
    }
  }
}

module.exports = LauncherSchedules;
