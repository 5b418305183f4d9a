import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { makeHandler as makeEcrImageAction } from '../../../functions/events/ecr-image-action';
import { makeHandler as makeEcrImageScan } from '../../../functions/events/ecr-image-scan';
import { parseConfig } from '../../../lib/config/load';
import type { DeadLetters } from '../../../lib/events/dead-letter';
import { logger, metrics } from '../../../lib/observability';
import { Releases, type ReleasesDeps } from '../../../lib/release/releases';
import { repositoryElsewhere } from '../../../lib/release/repository-place';
import { lambdaContext } from '../../support/http';

/**
 * ECR and Amazon Inspector events of a repository in a member account: acted on only when they come from the
 * account and region of config's repository they name, as forwarded by that account's rules (events/*.forwarded.json
 * are AWS's published samples with only the account and region of 222222222222/eu-west-1); any other account config
 * names may put events on the bus too, and is ignored when it claims that repository, with a log line and a metric.
 */

const CONTROL_PLANE = '111111111111';
const STAGING = '222222222222';
const PRODUCTION = '333333333333';
const REPOSITORY = `${STAGING}.dkr.ecr.eu-west-1.amazonaws.com/shop-backend`;

const config = parseConfig(
  `auth:
  tokensSecret: slipway/api-tokens
accounts:
  staging:
    roleArn: arn:aws:iam::${STAGING}:role/slipway-member
  production:
    roleArn: arn:aws:iam::${PRODUCTION}:role/slipway-member
apps:
  shop:
    repository: ${REPOSITORY}
    containers: [backend]
    environments:
      staging:
        cluster: shop-staging
        service: backend
        account: staging
        region: eu-west-1
        release: { semver: minor, maxFindings: { CRITICAL: 0 } }
  web:
    repository: ${CONTROL_PLANE}.dkr.ecr.us-east-1.amazonaws.com/web
    containers: [web]
    environments:
      production:
        cluster: web-prod
        service: web
        release: { tags: "*" }
`,
  'config/test.yml',
);

const sample = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
const from = <T extends Record<string, unknown>>(event: T, account: string, region?: string): T => ({
  ...event,
  account,
  region: region ?? event.region,
});

const releases = new Releases({ config } as unknown as ReleasesDeps);
const onPush = jest.spyOn(releases, 'onPush');
const onScan = jest.spyOn(releases, 'onScan');
const deadLetters: DeadLetters = { send: async () => undefined };
const deps = { releases, deadLetters, memberAccounts: () => new Set([STAGING, PRODUCTION]) };
const context = lambdaContext({
  invokedFunctionArn: `arn:aws:lambda:us-east-1:${CONTROL_PLANE}:function:slipway-prod-ecrImageAction`,
});
const push = (event: unknown) => makeEcrImageAction(deps)(event, context);
const scan = (event: unknown) => makeEcrImageScan(deps)(event, context);

beforeEach(() => {
  onPush.mockReset().mockResolvedValue({ targets: [] });
  onScan.mockReset().mockResolvedValue([]);
});

describe('which account and region an ECR event of a configured repository may come from', () => {
  it.each([
    ['a push from the repository’s account and region', STAGING, 'eu-west-1', REPOSITORY, undefined],
    [
      'a push from another account config names',
      PRODUCTION,
      'eu-west-1',
      REPOSITORY.replace(STAGING, PRODUCTION),
      REPOSITORY,
    ],
    [
      'a push from the repository’s account in another region',
      STAGING,
      'us-east-1',
      REPOSITORY.replace('eu-west-1', 'us-east-1'),
      REPOSITORY,
    ],
    [
      'a push from the control plane’s own account',
      CONTROL_PLANE,
      'eu-west-1',
      REPOSITORY.replace(STAGING, CONTROL_PLANE),
      REPOSITORY,
    ],
    [
      'an Inspector event from another account naming the repository by ARN',
      PRODUCTION,
      'eu-west-1',
      REPOSITORY,
      REPOSITORY,
    ],
    [
      'a push of a repository no app uses',
      STAGING,
      'eu-west-1',
      `${STAGING}.dkr.ecr.eu-west-1.amazonaws.com/other`,
      undefined,
    ],
    ['a push from another registry', STAGING, 'eu-west-1', 'ghcr.io/example-org/shop-backend', undefined],
  ])('%s', (_case, account, region, named, owner) => {
    const elsewhere = repositoryElsewhere(
      [REPOSITORY, `${CONTROL_PLANE}.dkr.ecr.us-east-1.amazonaws.com/web`],
      { account, region },
      named,
    );
    expect(
      elsewhere && `${elsewhere.registryId}.dkr.ecr.${elsewhere.region}.amazonaws.com/${elsewhere.repositoryName}`,
    ).toBe(owner);
  });

  it('accepts a repository of the same name in each of two places, each from its own', () => {
    const both = [REPOSITORY, REPOSITORY.replace(STAGING, PRODUCTION)];
    expect(repositoryElsewhere(both, { account: PRODUCTION, region: 'eu-west-1' }, both[1] as string)).toBeUndefined();
    expect(repositoryElsewhere(both, { account: STAGING, region: 'eu-west-1' }, both[0] as string)).toBeUndefined();
  });
});

describe('ECR Image Action events from member accounts', () => {
  it('hands a push forwarded from the repository’s account and region to the release', async () => {
    // Given AWS's push sample as 222222222222's rule in eu-west-1 forwards it
    const event = sample('ecr.image-push.forwarded.json');

    // When it is handled
    const outcome = await push(event);

    // Then the release considers the push of config's repository
    expect(outcome).toMatchObject({ handled: true });
    expect(onPush).toHaveBeenCalledWith({
      source: 'ecr-push',
      repository: REPOSITORY,
      digest: event.detail['image-digest'],
      tags: ['1.5.0'],
      pushedAt: event.time,
    });
  });

  it('ignores the same push claimed by another account config names, with its id in the log and a metric', async () => {
    // Given the forwarded push, claimed by account production (333333333333)
    const event = from(sample('ecr.image-push.forwarded.json'), PRODUCTION);
    const metric = jest.spyOn(metrics, 'addMetric');
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);

    // When it is handled
    const result = await push(event);

    // Then nothing is released, the log line names the event, and the metric counts it
    expect(result).toEqual({
      handled: true,
      result: {
        ignored:
          'the event comes from account 333333333333 in eu-west-1, but repository shop-backend is in account 222222222222 in eu-west-1',
        targets: [],
      },
    });
    expect(onPush).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(
      'ECR event from another account or region than the repository it names ignored',
      expect.objectContaining({ eventId: event.id, repository: REPOSITORY.replace(STAGING, PRODUCTION) }),
    );
    warn.mockRestore();
    expect(metric).toHaveBeenCalledWith('EcrEventsFromOtherAccounts', 'Count', 1);
  });

  it('ignores the push from the repository’s account in another region', async () => {
    const outcome = await push(from(sample('ecr.image-push.forwarded.json'), STAGING, 'us-east-1'));

    expect(outcome).toMatchObject({ handled: true, result: { ignored: expect.stringContaining('us-east-1') } });
    expect(onPush).not.toHaveBeenCalled();
  });
});

describe('scan events from member accounts', () => {
  it('hands a basic scan forwarded from the repository’s account and region to the waiting releases', async () => {
    const event = sample('ecr.image-scan.forwarded.json');

    await scan(event);

    expect(onScan).toHaveBeenCalledWith(REPOSITORY, event.detail['image-digest'], { CRITICAL: 1, HIGH: 7, MEDIUM: 9 });
  });

  it('ignores the scan claimed by another account', async () => {
    const outcome = await scan(from(sample('ecr.image-scan.forwarded.json'), PRODUCTION));

    expect(outcome).toMatchObject({ handled: true, result: { ignored: expect.stringContaining(PRODUCTION) } });
    expect(onScan).not.toHaveBeenCalled();
  });

  it('ignores an Inspector scan that names the member’s repository by ARN but comes from another account', async () => {
    // Given Amazon Inspector's sample naming 222222222222's repository, sent by 333333333333
    const event = sample('inspector2.scan.json');
    const arn = `arn:aws:ecr:eu-west-1:${STAGING}:repository/shop-backend`;
    event.detail['repository-name'] = arn;
    event.resources = [arn];

    // When it comes from production, then from staging
    const forged = await scan(from(event, PRODUCTION, 'eu-west-1'));
    const own = await scan(from(event, STAGING, 'eu-west-1'));

    // Then only staging's is acted on
    expect(forged).toMatchObject({ result: { ignored: expect.stringContaining('account 333333333333 in eu-west-1') } });
    expect(own).toMatchObject({ handled: true, result: { targets: [] } });
    expect(onScan).toHaveBeenCalledTimes(1);
    expect(onScan).toHaveBeenCalledWith(REPOSITORY, event.detail['image-digest'], {
      CRITICAL: 7,
      HIGH: 61,
      MEDIUM: 62,
    });
  });

  it('still hears the control plane’s own repository from its own account', async () => {
    const event = from(sample('ecr.image-scan.findings.json'), CONTROL_PLANE, 'us-east-1');
    event.detail = { ...event.detail, 'repository-name': 'web' };

    await scan(event);

    expect(onScan).toHaveBeenCalledWith(`${CONTROL_PLANE}.dkr.ecr.us-east-1.amazonaws.com/web`, expect.any(String), {
      CRITICAL: 1,
      HIGH: 7,
      MEDIUM: 9,
    });
  });
});
