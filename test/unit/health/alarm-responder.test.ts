import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { configSchema } from '../../../lib/config/schema';
import { AlarmResponder } from '../../../lib/health/alarm-responder';
import { type AlarmStateChangeEvent, alarmStateChangeEvent } from '../../../lib/health/auto-rollback';
import type { Notification } from '../../../lib/notify/publisher';
import type { Idempotency } from '../../../lib/store/idempotency';

/**
 * The alarm responder acts on an alarm's state change only when the event comes from the account and region the
 * alarm lives in (lib/health/alarm-placement.ts): a member account may forward its own events to the control
 * plane's bus, and an alarm of the same name in another account or region is not the one Slipway watches.
 */

const CONTROL_PLANE = '123456789012';
const MEMBER = '222222222222';
const HOME = { account: CONTROL_PLANE, region: 'us-east-1' };

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: { staging: { roleArn: `arn:aws:iam::${MEMBER}:role/slipway-member`, regions: ['eu-west-1'] } },
  apps: {
    shop: {
      repository: `${CONTROL_PLANE}.dkr.ecr.us-east-1.amazonaws.com/shop`,
      containers: ['app'],
      environments: {
        production: { cluster: 'shop-prod', service: 'web', health: [{ url: 'https://shop.example.com/health' }] },
        staging: {
          cluster: 'shop-staging',
          service: 'web',
          account: 'staging',
          region: 'eu-west-1',
          health: [{ url: 'https://staging.shop.example.com/health' }],
          alarms: ['shop-staging-5xx'],
        },
        // In another region of the control plane's account: its alarms are that region's stack's.
        frankfurt: {
          cluster: 'shop-frankfurt',
          service: 'web',
          region: 'eu-central-1',
          health: [{ url: 'https://eu.shop.example.com/health' }],
        },
      },
    },
  },
  databases: { 'shop-db': { rdsInstance: 'shop-prod-db', schedule: 'rate(1 day)' } },
});

/** The published sample (events/), with only its alarm, account and region changed. */
function alarmEvent(alarmName: string, account: string, region: string): AlarmStateChangeEvent {
  const sample = JSON.parse(readFileSync('events/cloudwatch.alarm-state-change.json', 'utf8'));
  return alarmStateChangeEvent.parse({
    ...sample,
    account,
    region,
    resources: [`arn:aws:cloudwatch:${region}:${account}:alarm:${alarmName}`],
    detail: { ...sample.detail, alarmName },
  });
}

function responder() {
  const notified: Notification[] = [];
  const history = jest.fn(async () => ({ items: [] }));
  const idempotency: Idempotency = (call) => call.run();
  const alarms = new AlarmResponder({
    config,
    stage: 'prod',
    deployments: { request: jest.fn() as never, history: history as never },
    idempotency,
    publisher: {
      publish: async (notification) => {
        notified.push(notification);
        return true;
      },
    },
  });
  return { alarms, notified, history };
}

describe('AlarmResponder: where an alarm’s events come from', () => {
  it.each([
    ['staging’s health alarm', 'slipway-prod-shop-staging-availability'],
    ['an alarm config names for staging', 'shop-staging-5xx'],
  ])('answers %s from the member account’s eu-west-1, where it lives', async (_, name) => {
    // Given the alarm's state change, forwarded from 222222222222/eu-west-1
    const { alarms, notified } = responder();

    // When it is handled
    const outcome = await alarms.onAlarm(alarmEvent(name, MEMBER, 'eu-west-1'), HOME);

    // Then staging is told, and nothing is ignored
    expect(outcome).toMatchObject({ app: 'shop', environment: 'staging', action: 'notify' });
    expect(notified.map(({ environment }) => environment)).toEqual(['staging']);
  });

  it.each([
    ['the control plane’s account', CONTROL_PLANE, 'eu-west-1'],
    ['the member account’s other region', MEMBER, 'us-east-1'],
    ['an account config does not name', '333333333333', 'eu-west-1'],
  ])('ignores staging’s health alarm from %s', async (_, account, region) => {
    const { alarms, notified, history } = responder();

    const outcome = await alarms.onAlarm(alarmEvent('slipway-prod-shop-staging-availability', account, region), HOME);

    // Then nothing is read, notified or rolled back, and the reason names where the alarm is
    expect(outcome).toEqual({
      alarm: 'slipway-prod-shop-staging-availability',
      app: 'shop',
      environment: 'staging',
      action: 'ignored',
      reason: `the event comes from account ${account} in ${region}, but shop/staging's alarm is in account ${MEMBER} in eu-west-1`,
    });
    expect(notified).toEqual([]);
    expect(history).not.toHaveBeenCalled();
  });

  it('ignores production’s health alarm forwarded by a member account, and answers it from home', async () => {
    const { alarms, notified } = responder();

    const forwarded = await alarms.onAlarm(
      alarmEvent('slipway-prod-shop-production-availability', MEMBER, 'us-east-1'),
      HOME,
    );
    const own = await alarms.onAlarm(
      alarmEvent('slipway-prod-shop-production-availability', CONTROL_PLANE, 'us-east-1'),
      HOME,
    );

    expect(forwarded).toMatchObject({ action: 'ignored' });
    expect(own).toMatchObject({ environment: 'production', action: 'notify' });
    expect(notified).toHaveLength(1);
  });

  it('answers the health alarm of an environment in another region of home from there, and from nowhere else', async () => {
    // Given frankfurt in eu-central-1 of the control plane's account, whose regional stack makes its health alarms
    const { alarms, notified } = responder();
    const name = 'slipway-prod-shop-frankfurt-availability';

    // When its state change comes from there, from the control plane's region, and from a member account there
    const there = await alarms.onAlarm(alarmEvent(name, CONTROL_PLANE, 'eu-central-1'), HOME);
    const home = await alarms.onAlarm(alarmEvent(name, CONTROL_PLANE, 'us-east-1'), HOME);
    const member = await alarms.onAlarm(alarmEvent(name, MEMBER, 'eu-central-1'), HOME);

    // Then only the one from eu-central-1 of the control plane's account is answered
    expect(there).toMatchObject({ environment: 'frankfurt', action: 'notify' });
    expect(home).toEqual({
      alarm: name,
      app: 'shop',
      environment: 'frankfurt',
      action: 'ignored',
      reason: `the event comes from account ${CONTROL_PLANE} in us-east-1, but shop/frankfurt's alarm is in account ${CONTROL_PLANE} in eu-central-1`,
    });
    expect(member).toMatchObject({ action: 'ignored' });
    expect(notified.map(({ environment }) => environment)).toEqual(['frankfurt']);
  });

  it('answers a backup alarm from the control plane’s account and region only', async () => {
    const { alarms, notified } = responder();

    const forwarded = await alarms.onAlarm(alarmEvent('slipway-prod-shop-db-backup-stale', MEMBER, 'us-east-1'), HOME);
    const own = await alarms.onAlarm(alarmEvent('slipway-prod-shop-db-backup-stale', CONTROL_PLANE, 'us-east-1'), HOME);

    expect(forwarded).toMatchObject({ action: 'ignored' });
    expect(own).toMatchObject({ action: 'notify', reason: 'backup alarm of shop-db' });
    expect(notified.map(({ type }) => type)).toEqual(['backup.alarm']);
  });

  it('takes any account where the control plane’s own is unknown (npm start), but still its region', async () => {
    const { alarms } = responder();
    const npmStart = { account: undefined, region: 'us-east-1' };

    const home = await alarms.onAlarm(
      alarmEvent('slipway-prod-shop-production-availability', CONTROL_PLANE, 'us-east-1'),
      npmStart,
    );
    const elsewhere = await alarms.onAlarm(
      alarmEvent('slipway-prod-shop-production-availability', CONTROL_PLANE, 'eu-west-1'),
      npmStart,
    );

    expect(home).toMatchObject({ action: 'notify' });
    expect(elsewhere).toMatchObject({
      action: 'ignored',
      reason: `the event comes from account ${CONTROL_PLANE} in eu-west-1, but shop/production's alarm is in the control plane's account in us-east-1`,
    });
  });
});
