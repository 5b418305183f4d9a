import { makeHandler as makeAlarmState } from '../../functions/events/alarm-state';
import { makeHandler as makeEcrImageAction } from '../../functions/events/ecr-image-action';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import type { SlipwayConfig } from '../../lib/config/schema';
import { type ProbeResult, probeAll, probeTargets } from '../../lib/health/probe';
import type { PushOutcome } from '../../lib/release/releases';
import {
  alarmStateEvent,
  completeDeployment,
  type ExampleControlPlane,
  ecrPushEvent,
  exampleControlPlane,
  localServer,
  noDeadLetters,
  person,
  requested,
  seedApp,
  serviceState,
} from '../support/example-systems';
import { exampleStage, exampleTaskDefinition, loadExample } from '../support/examples';
import { lambdaContext } from '../support/http';
import { motoEndpoint } from '../support/moto';
import { pushImage } from '../support/moto-aws';

/**
 * rag-shop (examples/rag-shop) run on Slipway as its runbook says, from the example's own config and task
 * definition, on moto's ECR and ECS: a push of a develop-… tag released to staging by itself; a push of a main-… tag
 * waiting for one approval before production; staging's digest promoted to production; the API's /health,
 * /health/ready and /health/live probed on real servers on 127.0.0.1; the production availability alarm, fired
 * while a check fails inside the bake window, rolling production back; and Slack told of each outcome, through a
 * stand-in on 127.0.0.1 whose URL is in the secret the config names. Only the health URLs point at this machine.
 */

const EXAMPLE = 'rag-shop';
const STAGE = exampleStage(EXAMPLE);
const APP = 'rag-shop';
const RUNNING = 'main-1f2e3d4';

let config: SlipwayConfig;
let plane: ExampleControlPlane;
let seeded: { digests: Record<string, string>; running: Record<string, string> };
let health: Awaited<ReturnType<typeof localServer>>;
let slack: Awaited<ReturnType<typeof localServer>>;
/** The health paths that answer 503 now, as `/<environment>/health/ready`. */
const failing = new Set<string>();
let onPush: (event: unknown) => Promise<{ handled: boolean; result?: PushOutcome }>;
let onAlarm: (event: unknown) => Promise<unknown>;
const digests: Record<string, string> = {};

/** What Slack was told, one line per message: its text. */
const slackTexts = () => slack.received.map(({ body }) => String((JSON.parse(body) as { text?: string }).text));

/** Pushes `tag` to rag-shop's repository on moto and delivers ECR's push event to the handler. */
async function push(tag: string): Promise<PushOutcome> {
  digests[tag] = await pushImage(createEcrClient(plane.env), APP, tag, `rag-shop ${tag}`);
  const outcome = await onPush(ecrPushEvent(APP, tag, digests[tag] as string));
  if (!outcome.handled || !outcome.result) throw new Error(`the push of ${tag} was not handled`);
  return outcome.result;
}

beforeAll(async () => {
  // Given the API's three health endpoints, per environment, on 127.0.0.1
  health = await localServer((path) => {
    if (failing.has(path)) return { status: 503, body: { status: 'degraded', detail: 'vector store unreachable' } };
    return path.endsWith('/health') ? { status: 200, body: { status: 'ok' } } : { status: 200, body: {} };
  });
  slack = await localServer(() => ({ status: 200 }));
  // And the example's config as the team copies it, its health URLs pointed at those servers
  config = loadExample(EXAMPLE, (loaded) => {
    for (const [name, environment] of Object.entries(loaded.apps[APP]?.environments ?? {})) {
      for (const check of environment.health ?? []) check.url = `${health.url}/${name}${new URL(check.url).pathname}`;
    }
  });
  plane = await exampleControlPlane({
    endpoint: motoEndpoint(),
    config,
    stage: STAGE,
    slackUrl: `${slack.url}/services/T0RAGSHOP/B0DEPLOYS/slack-stand-in`,
  });
  // And staging and production running the last build of main, from the example's task definition
  seeded = await seedApp(plane, config, APP, {
    tags: [RUNNING],
    registration: (image, environment) =>
      exampleTaskDefinition(EXAMPLE, 'task-definition.json', { api: image, ui: image }, environment),
  });
  const pushHandler = makeEcrImageAction({
    releases: plane.releases,
    deadLetters: noDeadLetters,
    memberAccounts: () => new Set(),
  });
  onPush = (event) => pushHandler(event, lambdaContext()) as never;
  const alarmHandler = makeAlarmState({ responder: plane.alarms, deadLetters: noDeadLetters });
  onAlarm = (event) => alarmHandler(event, lambdaContext());
}, 120_000);

afterAll(async () => {
  await Promise.all([health?.close(), slack?.close()]);
});

describe('rag-shop: releases by branch, approvals, promotion', () => {
  it('releases a develop-… push to staging by itself, leaves production alone, and tells Slack the outcome', async () => {
    // When CI pushes the build of develop
    const outcome = await push('develop-4b5c6d7');

    // Then staging deploys it by digest, and production's policy (main-*) does not take it
    expect(outcome.targets).toEqual([
      expect.objectContaining({ environment: 'staging', outcome: 'deployed', tag: 'develop-4b5c6d7' }),
      expect.objectContaining({
        environment: 'production',
        outcome: 'skipped',
        reason: 'tag develop-4b5c6d7 does not match tags: main-*',
      }),
    ]);
    const deploymentId = outcome.targets[0]?.deploymentId as string;
    expect(await plane.deployments.get(deploymentId)).toMatchObject({
      requestedBy: { name: 'ecr-push' },
      to: { digest: digests['develop-4b5c6d7'] },
    });
    expect((await serviceState(plane, 'rag-shop-production', 'rag-shop')).taskDefinition).toBe(
      seeded.running.production,
    );

    // When ECS completes it, then it succeeded and Slack heard so
    await completeDeployment(plane, 'rag-shop-staging', 'rag-shop');
    expect(await plane.deployments.get(deploymentId)).toMatchObject({ state: 'SUCCEEDED' });
    expect(slackTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/rag-shop\/staging.*SUCCEEDED/)]));
  });

  it('holds a main-… push for one approval before production, then deploys it', async () => {
    // When CI pushes the build of main
    const outcome = await push('main-8e9f0a1');

    // Then production waits for an approval, running what it ran, and staging's policy (develop-*) does not take it
    expect(outcome.targets).toEqual([
      expect.objectContaining({
        environment: 'staging',
        outcome: 'skipped',
        reason: 'tag main-8e9f0a1 does not match tags: develop-*',
      }),
      expect.objectContaining({ environment: 'production', outcome: 'pending-approval', tag: 'main-8e9f0a1' }),
    ]);
    const deploymentId = outcome.targets[1]?.deploymentId as string;
    expect(await plane.deployments.get(deploymentId)).toMatchObject({ state: 'PENDING_APPROVAL' });
    expect(slackTexts()).toEqual(
      expect.arrayContaining([expect.stringMatching(/rag-shop\/production.*PENDING_APPROVAL/)]),
    );
    expect((await serviceState(plane, 'rag-shop-production', 'rag-shop')).taskDefinition).toBe(
      seeded.running.production,
    );

    // When a lead approves it and ECS completes it, then production runs it
    expect(await plane.deployments.approve(deploymentId, person('lead'))).toMatchObject({ state: 'IN_PROGRESS' });
    await completeDeployment(plane, 'rag-shop-production', 'rag-shop');
    expect(await plane.deployments.get(deploymentId)).toMatchObject({
      state: 'SUCCEEDED',
      to: { digest: digests['main-8e9f0a1'] },
    });
    expect(slackTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/rag-shop\/production.*SUCCEEDED/)]));
  });

  it("promotes staging's digest to production, once approved", async () => {
    // When the team promotes staging to production
    const promotion = await requested(plane, {
      app: APP,
      environment: 'production',
      target: { kind: 'promote' },
      requestedBy: person('alice'),
    });

    // Then it waits for an approval, with staging's digest, and runs it once approved
    expect(promotion).toMatchObject({ state: 'PENDING_APPROVAL', to: { digest: digests['develop-4b5c6d7'] } });
    await plane.deployments.approve(promotion.id, person('lead'));
    await completeDeployment(plane, 'rag-shop-production', 'rag-shop');
    expect(await plane.deployments.get(promotion.id)).toMatchObject({ state: 'SUCCEEDED' });
  });
});

describe('rag-shop: health probes and the alarm rollback', () => {
  const probe = () => probeAll(probeTargets(config), { concurrency: config.probes.concurrency });
  const summary = (results: ProbeResult[]) =>
    results
      .map(({ environment, check, ok, status }) => ({ environment, check, ok, status }))
      .sort((a, b) => `${a.environment}/${a.check}`.localeCompare(`${b.environment}/${b.check}`));

  it('probes /health, /health/ready and /health/live of both environments on their servers', async () => {
    // When the probes run
    health.received.length = 0;
    const results = await probe();

    // Then each environment's three endpoints were asked, and all pass
    expect(health.received.map(({ path }) => path).sort()).toEqual([
      '/production/health',
      '/production/health/live',
      '/production/health/ready',
      '/staging/health',
      '/staging/health/live',
      '/staging/health/ready',
    ]);
    expect(results.every((result) => result.ok)).toBe(true);

    // When production's readiness fails, then its check alone fails, with the status and never the body
    failing.add('/production/health/ready');
    expect(summary(await probe())).toEqual(
      expect.arrayContaining([
        { environment: 'production', check: 'ready', ok: false, status: 503 },
        { environment: 'production', check: 'health', ok: true, status: 200 },
        { environment: 'staging', check: 'ready', ok: true, status: 200 },
      ]),
    );
  });

  it('rolls production back when its availability alarm fires inside the bake window, and tells Slack', async () => {
    // Given production runs the promoted build, within its 30-minute bake window, and its readiness fails
    const before = (await plane.deployments.history(APP, 'production', { limit: 1 })).items[0];
    expect(before).toMatchObject({ kind: 'promote', state: 'SUCCEEDED' });

    // When the availability alarm generated from its checks goes to ALARM
    const alarmName = `slipway-${STAGE}-${APP}-production-availability`;
    const outcome = await onAlarm(alarmStateEvent(alarmName, 'ALARM', 'OK', new Date()));

    // Then Slipway rolls production back to the build that ran before the promotion
    expect(outcome).toMatchObject({ handled: true, result: { action: 'rollback', environment: 'production' } });
    const rollback = (await plane.deployments.history(APP, 'production', { limit: 1 })).items[0];
    expect(rollback).toMatchObject({
      kind: 'rollback',
      requestedBy: { name: `alarm:${alarmName}` },
      to: { taskDefinitionArn: before?.from.taskDefinitionArn, digest: digests['main-8e9f0a1'] },
    });
    expect((await serviceState(plane, 'rag-shop-production', 'rag-shop')).taskDefinition).toBe(
      before?.from.taskDefinitionArn,
    );
    await completeDeployment(plane, 'rag-shop-production', 'rag-shop');
    // And Slack heard of the alarm, and of the rollback's outcome
    expect(slackTexts()).toEqual(
      expect.arrayContaining([
        expect.stringContaining(alarmName),
        expect.stringMatching(/rag-shop\/production.*rollback.*SUCCEEDED/i),
      ]),
    );
  });
});
