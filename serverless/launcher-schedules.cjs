// Under `npm start` the launcher runs the schedules itself, reading EventBridge expressions in UTC.
// serverless-offline would run them a second time, in local time and without `?` in cron
// expressions, so when the launcher starts it, the schedule events are taken away from it.
class LauncherSchedules {
  constructor(serverless) {
    this.hooks = {
      'before:offline:start': () => this.handOver(serverless),
      'before:offline:start:init': () => this.handOver(serverless),
    };
  }

  handOver(serverless) {
    if (process.env.SLIPWAY_LAUNCHER_RUNS_SCHEDULES !== 'true') return;
    for (const fn of Object.values(serverless.service.functions ?? {})) {
      fn.events = (fn.events ?? []).filter((event) => !event.schedule);
    }
  }
}

module.exports = LauncherSchedules;
