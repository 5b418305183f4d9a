import { jest } from '@jest/globals';
import {
  backupOperation,
  databasePlace,
  RDS_EVENTS_FROM_ELSEWHERE,
  rdsEventFromElsewhere,
  restoreOperation,
} from '../../../lib/backup/database-places';
import { parseConfig } from '../../../lib/config/load';
import { metrics } from '../../../lib/observability';
import { captureLogs } from '../../support/logs';

/**
 * Where a database's RDS calls go and which RDS events are taken for it: a database in another account is acted
 * on there, as the backup's or restore's session, and an event naming it is taken only from its account and
 * region (the ECS events' rule, lib/config/places.ts).
 */

const MEMBER = '222222222222';
const HOME = { account: '111111111111', region: 'us-east-1' };
const config = parseConfig(
  [
    'auth:',
    '  tokensSecret: slipway/api-tokens',
    'accounts:',
    '  staging:',
    `    roleArn: arn:aws:iam::${MEMBER}:role/slipway-member`,
    '    regions: [eu-west-1, us-east-1]',
    'databases:',
    '  orders-db:',
    '    rdsInstance: orders-staging-db',
    '    account: staging',
    '    region: eu-west-1',
    '    copyToRegion: us-east-1',
    '  shop-db:',
    '    rdsInstance: shop-prod-db',
    '',
  ].join('\n'),
  'config/prod.yml',
);
const event = (account: string, region: string) => ({ id: 'ev-1', account, region });

afterEach(() => jest.restoreAllMocks());

describe('the place of a database’s RDS calls', () => {
  it('is its account, in the region asked for; the control plane’s for a database config does not place, or no longer names', () => {
    expect(databasePlace(config, 'orders-db', 'us-east-1')).toEqual({ account: 'staging', region: 'us-east-1' });
    expect(databasePlace(config, 'shop-db', 'us-east-1')).toEqual({ account: undefined, region: 'us-east-1' });
    expect(databasePlace(config, 'gone-db', 'eu-west-1')).toEqual({ account: undefined, region: 'eu-west-1' });
  });

  it('is acted on as a session named after the backup or restore, with who asked for it as its source identity', () => {
    expect(backupOperation({ id: 'bkp-1', trigger: 'api:alice' })).toEqual({ id: 'bkp-1', principal: 'alice' });
    // Scheduled backups and their follow-ups are Slipway's own doing.
    expect(backupOperation({ id: 'bkp-2', trigger: 'schedule' })).toEqual({ id: 'bkp-2', principal: 'slipway' });
    expect(backupOperation({ id: 'bkp-3', trigger: 'after bkp-1' })).toEqual({ id: 'bkp-3', principal: 'slipway' });
    expect(restoreOperation({ id: 'rst-1', requestedBy: 'bob' })).toEqual({ id: 'rst-1', principal: 'bob' });
  });
});

describe('an RDS event naming a database', () => {
  it.each([
    ['from its account and region', event(MEMBER, 'eu-west-1'), 'orders-db', ['eu-west-1', 'us-east-1']],
    ['from its account and its copies’ region', event(MEMBER, 'us-east-1'), 'orders-db', ['eu-west-1', 'us-east-1']],
    [
      'of the control plane’s own database, from its account and region',
      event(HOME.account, 'us-east-1'),
      'shop-db',
      ['us-east-1'],
    ],
  ])('is taken %s', (_what, origin, database, regions) => {
    const metric = jest.spyOn(metrics, 'addMetric');
    expect(rdsEventFromElsewhere(config, origin, database, regions, HOME)).toBeUndefined();
    expect(metric).not.toHaveBeenCalled();
  });

  it('is taken from any account when the control plane’s own is unknown (npm start), for its own database', () => {
    expect(
      rdsEventFromElsewhere(config, event('123456789012', 'us-east-1'), 'shop-db', ['us-east-1'], {
        region: 'us-east-1',
      }),
    ).toBeUndefined();
  });

  it('is ignored from another account, with its id in the log and a metric', async () => {
    const metric = jest.spyOn(metrics, 'addMetric');

    const { result, output } = await captureLogs(async () =>
      rdsEventFromElsewhere(config, event('333333333333', 'eu-west-1'), 'orders-db', ['eu-west-1', 'us-east-1'], HOME),
    );

    expect(result).toBe(
      'the event comes from account 333333333333 in eu-west-1, but database orders-db is in account 222222222222 in eu-west-1 or us-east-1',
    );
    expect(output).toContain('RDS event from another account or region than the database it names ignored');
    expect(output).toContain('ev-1');
    expect(metric).toHaveBeenCalledWith(RDS_EVENTS_FROM_ELSEWHERE, 'Count', 1);
  });

  it.each([
    ['from its account in another region', event(MEMBER, 'ap-south-1'), 'orders-db'],
    ['from the control plane’s account', event(HOME.account, 'eu-west-1'), 'orders-db'],
    ['of the control plane’s own database, from a member account', event(MEMBER, 'us-east-1'), 'shop-db'],
  ])('is ignored %s', (_what, origin, database) => {
    const regions = database === 'orders-db' ? ['eu-west-1', 'us-east-1'] : ['us-east-1'];
    expect(rdsEventFromElsewhere(config, origin, database, regions, HOME)).toMatch(/^the event comes from account/);
  });
});
