import type { SlipwayConfig } from '../config/schema';
import type { Deployments } from '../deploy/deployments';
import { arnInPlace, type Home } from '../deploy/placement';
import { Conflict } from '../errors';
import type { Publisher } from '../notify/publisher';
import { logger, metrics } from '../observability';
import type { Idempotency } from '../store/idempotency';
import { alarmEventSource } from './alarm-placement';
import { alarmTarget, slipwayAlarmPrefix } from './alarms';
import { type AlarmStateChangeEvent, alarmDecision } from './auto-rollback';

export interface AlarmOutcome {
  alarm: string;
  app?: string;
  environment?: string;
  action: 'rollback' | 'notify' | 'ignored';
  reason: string;
  deploymentId?: string;
}

export interface AlarmResponderDeps {
  config: SlipwayConfig;
  stage: string;
  deployments: Pick<Deployments, 'request' | 'history'>;
  idempotency: Idempotency;
  publisher: Publisher;
  now?: () => Date;
}

/** An alarm state change on one of Slipway's alarms: a rollback through the deploy use case, or a notification. */
export class AlarmResponder {
  private readonly now: () => Date;

  constructor(private readonly deps: AlarmResponderDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * `home` is the control plane's own account and region; an event from anywhere else than where the alarm it
   * names lives (lib/health/alarm-placement.ts) is ignored: another account's alarm of the same name is not ours.
   */
  async onAlarm(event: AlarmStateChangeEvent, home: Home): Promise<AlarmOutcome> {
    const alarm = event.detail;
    const own = { account: home.account, region: home.region };
    const found = alarmTarget(this.deps.config, this.deps.stage, alarm.alarmName);
    if (!found) {
      const database = this.backupAlarmDatabase(alarm.alarmName);
      if (!database) return { alarm: alarm.alarmName, action: 'ignored', reason: 'not an alarm Slipway watches' };
      // The backup alarms are the control plane's stack's own.
      if (!arnInPlace(own, event)) return this.fromElsewhere(event, own, `the backup alarm of ${database}`);
      return this.notifyBackupAlarm(event, database);
    }
    const target = { app: found.app, environment: found.environment };
    const env = this.deps.config.apps[found.app]?.environments[found.environment];
    const source = env ? alarmEventSource(this.deps.config, env, home) : own;
    if (!arnInPlace(source, event)) {
      return this.fromElsewhere(event, source, `${found.app}/${found.environment}'s alarm`, target);
    }
    // One answer per state change, however many times EventBridge delivers it: one notification, at most one rollback.
    return this.deps.idempotency({
      scope: 'alarm',
      caller: `alarm:${alarm.alarmName}`,
      key: `${alarm.alarmName}@${alarm.state.value}@${alarm.state.timestamp}`,
      payload: null,
      run: () => this.respond(event, target),
    });
  }

  private async respond(
    event: AlarmStateChangeEvent,
    target: { app: string; environment: string },
  ): Promise<AlarmOutcome> {
    const alarm = event.detail;
    const where = { alarm: alarm.alarmName, ...target };
    const env = this.deps.config.apps[target.app]?.environments[target.environment];
    const [last] = (await this.deps.deployments.history(target.app, target.environment, { limit: 1 })).items;
    const decision = alarmDecision({ alarm, last, bakeMinutes: env?.bakeMinutes ?? 0, now: this.now() });
    await this.notifyAlarm(event, target, decision.reason);
    if (decision.action === 'notify') return { ...where, action: 'notify', reason: decision.reason };
    try {
      const outcome = await this.deps.deployments.request({
        app: target.app,
        environment: target.environment,
        target: { kind: 'rollback' },
        requestedBy: { name: `alarm:${alarm.alarmName}`, kind: 'system' },
        reason: decision.reason,
      });
      if (outcome.dryRun) throw new Error('an automatic rollback is never a dry run');
      metrics.addMetric('AutomaticRollbacks', 'Count', 1);
      logger.warn('automatic rollback started', {
        ...where,
        deploymentId: outcome.deployment.id,
        reason: decision.reason,
      });
      return { ...where, action: 'rollback', reason: decision.reason, deploymentId: outcome.deployment.id };
    } catch (error) {
      // A deployment in flight (another rollback, or one a person started) already answers this alarm.
      if (!(error instanceof Conflict)) throw error;
      logger.info('automatic rollback not started', { ...where, reason: error.message });
      return { ...where, action: 'notify', reason: `not rolled back: ${error.message}` };
    }
  }

  /** An alarm event from another account or region than the alarm's: logged, counted, changing nothing. */
  private fromElsewhere(
    event: AlarmStateChangeEvent,
    source: { account: string | undefined; region: string },
    what: string,
    target?: { app: string; environment: string },
  ): AlarmOutcome {
    const alarm = event.detail.alarmName;
    const reason = `the event comes from account ${event.account} in ${event.region}, but ${what} is in ${source.account === undefined ? "the control plane's account" : `account ${source.account}`} in ${source.region}`;
    logger.warn('alarm event from another account or region than the alarm it names ignored', {
      eventId: event.id,
      alarm,
      ...target,
      reason,
    });
    metrics.addMetric('AlarmEventsFromOtherAccounts', 'Count', 1);
    return { alarm, ...target, action: 'ignored', reason };
  }

  /**
   * `slipway-<stage>-<subject>-backup-stale` and the drill alarms name what they watch: a database,
   * `<database>-dump` or `volume-<volume>` (lib/backup/alarms.ts).
   */
  private backupAlarmDatabase(alarmName: string): string | undefined {
    const prefix = slipwayAlarmPrefix(this.deps.stage);
    const subject = /^(.+)-(backup-stale|drill-failed|drill-overdue)$/.exec(
      alarmName.startsWith(prefix) ? alarmName.slice(prefix.length) : '',
    )?.[1];
    if (!subject) return undefined;
    if (Object.hasOwn(this.deps.config.databases, subject)) return subject;
    const dumped = /^(.+)-dump$/.exec(subject)?.[1];
    if (dumped && this.deps.config.databases[dumped]?.dump) return subject;
    const volume = /^volume-(.+)$/.exec(subject)?.[1];
    return volume && Object.hasOwn(this.deps.config.volumes, volume) ? subject : undefined;
  }

  /** Backup alarms change nothing: people are told, on the topic and in Slack, once per state change. */
  private async notifyBackupAlarm(event: AlarmStateChangeEvent, database: string): Promise<AlarmOutcome> {
    const alarm = event.detail;
    return this.deps.idempotency({
      scope: 'alarm',
      caller: `alarm:${alarm.alarmName}`,
      key: `${alarm.alarmName}@${alarm.state.value}@${alarm.state.timestamp}`,
      payload: null,
      run: async () => {
        await this.deps.publisher.publish({
          subject: `Slipway: ${database} alarm ${alarm.alarmName} is ${alarm.state.value}`,
          type: 'backup.alarm',
          app: database,
          environment: 'backups',
          state: alarm.state.value,
          body: { alarmName: alarm.alarmName, database, reason: alarm.state.reason, at: alarm.state.timestamp },
        });
        return { alarm: alarm.alarmName, action: 'notify' as const, reason: `backup alarm of ${database}` };
      },
    });
  }

  private async notifyAlarm(event: AlarmStateChangeEvent, target: { app: string; environment: string }, why: string) {
    const alarm = event.detail;
    await this.deps.publisher.publish({
      subject: `Slipway: ${target.app}/${target.environment} alarm ${alarm.alarmName} is ${alarm.state.value}`,
      type: 'alarm',
      app: target.app,
      environment: target.environment,
      state: alarm.state.value,
      body: {
        alarmName: alarm.alarmName,
        reason: alarm.state.reason,
        previousState: alarm.previousState?.value ?? null,
        at: alarm.state.timestamp,
        decision: why,
      },
    });
  }
}
