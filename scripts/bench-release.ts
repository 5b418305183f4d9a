/**
 * Release benchmark: how long Slipway takes to decide what one ECR push means when the
 * configuration holds 1,000 apps (3,000 environments). The decision is the pure part: find
 * the environments whose app uses the pushed repository, and run each one's release policy
 * against what runs. It is read against two figures measured in the same run: the floor every
 * push pays anyway (validating the event), and a scan of every app without the repository index.
 */
import { median, quantile, ratio } from '../lib/bench/stats';
import { configSchema } from '../lib/config/schema';
import { ecrImageActionEvent, repositoryUri } from '../lib/release/ecr-events';
import { choose } from '../lib/release/policy';
import { releaseTargets } from '../lib/release/releases';

const APPS = 1_000;
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

function bigConfig() {
  const apps: Record<string, unknown> = {};
  for (let index = 0; index < APPS; index++) {
    apps[`app-${index}`] = {
      repository: `123456789012.dkr.ecr.us-east-1.amazonaws.com/app-${index}`,
      containers: ['web'],
      environments: {
        staging: { cluster: `c-${index}`, service: 'web', release: { tags: 'develop-*' } },
        qa: { cluster: `c-${index}`, service: 'web-qa', release: { regexp: '^qa-[0-9]+$' } },
        production: { cluster: `c-${index}`, service: 'web-prod', release: { semver: 'minor' } },
      },
    };
  }
  return configSchema.parse({ auth: { tokensSecret: 'slipway/api-tokens' }, apps });
}

function pushEvent(index: number) {
  return {
    version: '0',
    id: `bench-${index}`,
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: '123456789012',
    time: '2026-11-22T03:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      result: 'SUCCESS',
      'repository-name': `app-${index % APPS}`,
      'image-digest': digest(index + 1),
      'action-type': 'PUSH',
      'image-tag': `1.${index % 7}.0`,
    },
  };
}

const running = { digest: digest(0), tags: ['1.2.0', 'latest'] };

function timePerPush(pushes: number, decide: (index: number) => unknown): number[] {
  const samples: number[] = [];
  for (let round = 0; round < 15; round++) {
    const started = performance.now();
    for (let index = 0; index < pushes; index++) decide(index);
    samples.push(((performance.now() - started) * 1000) / pushes);
  }
  return samples;
}

export function benchRelease(pushes = 2_000) {
  const config = bigConfig();
  const indexStarted = performance.now();
  const index = releaseTargets(config);
  const indexMs = performance.now() - indexStarted;
  const events = Array.from({ length: pushes }, (_, position) => pushEvent(position));

  const floor = () => timePerPush(pushes, (position) => ecrImageActionEvent.parse(events[position]));
  const decided = () =>
    timePerPush(pushes, (position) => {
      const event = ecrImageActionEvent.parse(events[position]);
      const repository = repositoryUri(event.account, event.region, event.detail['repository-name']);
      const tags = [event.detail['image-tag'] as string];
      return (index.get(repository) ?? []).map((target) =>
        choose(target.policy, event.detail['image-digest'] as string, tags, running),
      );
    });
  const scanned = () =>
    timePerPush(pushes, (position) => {
      const event = ecrImageActionEvent.parse(events[position]);
      const repository = repositoryUri(event.account, event.region, event.detail['repository-name']);
      const tags = [event.detail['image-tag'] as string];
      return Object.values(config.apps)
        .filter((app) => app.repository === repository)
        .flatMap((app) => Object.values(app.environments))
        .map((env) => env.release && choose(env.release, event.detail['image-digest'] as string, tags, running));
    });

  // Interleaved rounds, so load on the shared machine falls on all three alike.
  const floorUs: number[] = [];
  const decidedUs: number[] = [];
  const scannedUs: number[] = [];
  for (let round = 0; round < 3; round++) {
    floorUs.push(...floor());
    decidedUs.push(...decided());
    scannedUs.push(...scanned());
  }
  return {
    apps: APPS,
    environments: APPS * 3,
    pushes,
    indexMs,
    rows: [
      ['validate the event (floor)', median(floorUs).toFixed(1), quantile(floorUs, 0.9).toFixed(1), '1.00×'],
      [
        'decide: index lookup + 3 policies',
        median(decidedUs).toFixed(1),
        quantile(decidedUs, 0.9).toFixed(1),
        ratio(median(decidedUs), median(floorUs)),
      ],
      [
        'decide by scanning all 1,000 apps',
        median(scannedUs).toFixed(1),
        quantile(scannedUs, 0.9).toFixed(1),
        ratio(median(scannedUs), median(floorUs)),
      ],
    ],
  };
}
