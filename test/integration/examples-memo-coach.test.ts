import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CreateServiceCommandInput,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { makeHandler as makeLifecycleHook } from '../../functions/hooks/ecs-lifecycle-hook';
import type { Archives } from '../../lib/backup/archives';
import type { SlipwayConfig } from '../../lib/config/schema';
import { LifecycleHook } from '../../lib/health/lifecycle-hook';
import { probeAll } from '../../lib/health/probe';
import { RestoreStore } from '../../lib/store/backups';
import type { WorkerJobDeps } from '../../lib/worker/jobs';
import {
  completeDeployment,
  type ExampleControlPlane,
  exampleBackups,
  exampleControlPlane,
  HOME,
  inProcessWorker,
  localServer,
  person,
  requested,
  seedApp,
  serviceState,
} from '../support/example-systems';
import { EXAMPLES_DIR, exampleStage, exampleTaskDefinition, loadExample } from '../support/examples';
import { lambdaContext } from '../support/http';
import { motoEndpoint } from '../support/moto';
import { query, Writer } from '../support/sqlite';

/**
 * memo-coach (examples/memo-coach) run on Slipway as its runbook says, from the example's own config and task
 * definitions: the backend and the front end deployed to staging and promoted to production on moto's ECS, where the
 * production services are blue/green and Slipway's lifecycle hook probes the new revision on the test listener (a
 * server on 127.0.0.1) before traffic shifts; the Secrets Manager references of the task definition carried to every
 * new revision; a rollback; and the SQLite volume archived by the worker while the backend's stand-in writes to its
 * WAL-mode database without pause, restored, checked with PRAGMA integrity_check and drilled.
 */

const EXAMPLE = 'memo-coach';
const STAGE = exampleStage(EXAMPLE);
const API = 'memo-coach-api';
const WEB = 'memo-coach-web';
const BUCKET = `slipway-${STAGE}-backups`;
const BUILDS = ['2026.11.30', '2026.12.06'];
const HOOK_ROLE = 'arn:aws:iam::123456789012:role/memo-coach-ecs-lifecycle-hook';

let config: SlipwayConfig;
let plane: ExampleControlPlane;
let clock: Date;
let work: string;
let seeded: Record<string, { digests: Record<string, string>; running: Record<string, string> }>;
let health: Awaited<ReturnType<typeof localServer>>;
let archives: () => Archives;
let workerDeps: () => WorkerJobDeps;
/** Whether the revision behind the test listener (green) answers healthy. */
let greenHealthy = true;
const worker = inProcessWorker();
const now = () => clock;

/** How the runbook creates a production service (examples/memo-coach/services/<service>.json): blue/green, Slipway's hook
 * named at POST_TEST_TRAFFIC_SHIFT. */
const productionService = (service: string): CreateServiceCommandInput =>
  JSON.parse(readFileSync(join(EXAMPLES_DIR, EXAMPLE, 'services', `${service}.json`), 'utf8'));

/** ECS invoking Slipway's hook (events/hook.ecs-lifecycle.json) for the production service, run `executionId`. */
function invokeHook(service: string, executionId: string) {
  const event = JSON.parse(readFileSync('events/hook.ecs-lifecycle.json', 'utf8'));
  event.executionId = executionId;
  event.executionDetails.serviceArn = `arn:aws:ecs:${HOME.region}:${HOME.account}:service/memo-coach-production/${service}`;
  const hook = makeLifecycleHook({
    hook: new LifecycleHook({
      config,
      documents: plane.documents,
      tableName: plane.table,
      probe: probeAll,
      probeOptions: { concurrency: 4 },
      now,
    }),
  });
  return hook(event, lambdaContext());
}

/** ECS's calls of the hook until it decides, as the callback delay makes it call again. */
async function hookUntilDecided(service: string, executionId: string): Promise<string[]> {
  const answers: string[] = [];
  for (let call = 0; call < 20; call += 1) {
    const { hookStatus } = await invokeHook(service, executionId);
    answers.push(hookStatus);
    if (hookStatus !== 'IN_PROGRESS') break;
  }
  return answers;
}

async function secretsOf(taskDefinitionArn: string | undefined) {
  const { taskDefinition } = await plane.ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }),
  );
  return taskDefinition?.containerDefinitions?.map((container) => ({
    name: container.name,
    secrets: container.secrets,
  }));
}

beforeAll(async () => {
  clock = new Date('2026-12-06T09:00:00.000Z');
  work = await mkdtemp(join(tmpdir(), 'slipway-memo-coach-'));
  // Given the health endpoints of both listeners on 127.0.0.1: /green/… is the test listener, which reaches the new
  // revision alone during a blue/green deployment
  health = await localServer((path) =>
    path.startsWith('/green/') && !greenHealthy
      ? { status: 503, body: { status: 'starting' } }
      : { status: 200, body: { status: 'ok' } },
  );
  // And the example's config as the team copies it, its health URLs pointed at that server
  config = loadExample(EXAMPLE, (file) => {
    for (const [name, environment] of Object.entries(file.apps).flatMap(([, app]) =>
      Object.entries(app.environments),
    )) {
      for (const check of environment.health ?? []) {
        const url = new URL(check.url);
        check.url = `${health.url}/${url.port === '8443' ? 'green' : name}${url.pathname}`;
      }
    }
  });
  plane = await exampleControlPlane({ endpoint: motoEndpoint(), config, stage: STAGE, now });

  // And both services of both clusters, from the example's task definitions, running the first build
  seeded = {};
  for (const [app, container, file] of [
    [API, 'api', 'api.task-definition.json'],
    [WEB, 'web', 'web.task-definition.json'],
  ] as const) {
    seeded[app] = await seedApp(plane, config, app, {
      tags: BUILDS,
      registration: (image, environment) => exampleTaskDefinition(EXAMPLE, file, { [container]: image }, environment),
    });
  }
  // And production's services blue/green with Slipway's hook, as the runbook creates them (moto 5.2.1 drops
  // CreateService's deploymentConfiguration and keeps UpdateService's: see createService in test/support/moto-aws.ts)
  for (const service of ['api', 'web']) {
    await plane.ecs.send(
      new UpdateServiceCommand({
        cluster: 'memo-coach-production',
        service,
        deploymentConfiguration: productionService(service).deploymentConfiguration,
      }),
    );
  }

  // And the data volume, the backup bucket and the worker's scratch disk
  await mkdir(join(work, 'mnt', 'memo-coach-data'), { recursive: true });
  await mkdir(join(work, 'scratch'));
  ({ archives, workerDeps } = await exampleBackups(plane, {
    config,
    bucket: BUCKET,
    launcher: worker.launcher,
    work,
    now,
  }));
}, 60_000);

afterAll(async () => {
  await health?.close();
  await rm(work, { recursive: true, force: true });
});

describe('memo-coach: blue/green deployments of the backend and the front end, secrets kept, rollback', () => {
  it.each([
    [API, 'api'],
    [WEB, 'web'],
  ])(
    'deploys %s to staging by digest, then promotes it to production through the lifecycle hook',
    async (app, service) => {
      const digest = seeded[app]?.digests[BUILDS[1] as string] as string;

      // When CI deploys the second build to staging and ECS completes it
      const staging = await requested(plane, {
        app,
        environment: 'staging',
        target: { kind: 'deploy', digest },
        requestedBy: person('ci'),
      });
      expect(await completeDeployment(plane, 'memo-coach-staging', service)).toMatchObject({ applied: true });
      expect(await plane.deployments.get(staging.id)).toMatchObject({ state: 'SUCCEEDED' });

      // And the team promotes it to production, and a lead approves
      const promotion = await requested(plane, {
        app,
        environment: 'production',
        target: { kind: 'promote' },
        requestedBy: person('ci'),
      });
      expect(promotion).toMatchObject({ state: 'PENDING_APPROVAL', to: { digest } });
      const approved = await plane.deployments.approve(promotion.id, person('mina'));
      expect(approved.state).toBe('IN_PROGRESS');

      // Then the service stays blue/green with its hook and role, as UpdateService was given them back
      const { services } = await plane.ecs.send(
        new DescribeServicesCommand({ cluster: 'memo-coach-production', services: [service] }),
      );
      const created = productionService(service).deploymentConfiguration;
      expect(created?.lifecycleHooks?.map((hook) => hook.roleArn)).toEqual([HOOK_ROLE]);
      expect(services?.[0]?.deploymentConfiguration).toMatchObject({
        strategy: 'BLUE_GREEN',
        lifecycleHooks: created?.lifecycleHooks,
      });
      expect(services?.[0]?.taskDefinition).toBe(approved.to.taskDefinitionArn);

      // When ECS calls the hook after test traffic reaches green, then it passes after three healthy runs
      expect(await hookUntilDecided(service, `promote-${service}`)).toEqual([
        'IN_PROGRESS',
        'IN_PROGRESS',
        'SUCCEEDED',
      ]);
      expect(await completeDeployment(plane, 'memo-coach-production', service)).toMatchObject({ applied: true });
      expect(await plane.deployments.get(promotion.id)).toMatchObject({ state: 'SUCCEEDED', to: { digest } });
    },
  );

  it("carries the task definition's Secrets Manager references, and only those, to the revision it registered", async () => {
    // Given what the example's task definition names (ARNs, never values)
    const file = exampleTaskDefinition(EXAMPLE, 'api.task-definition.json', {});
    const named = file.containerDefinitions?.map((container) => ({ name: container.name, secrets: container.secrets }));
    expect(named?.[0]?.secrets?.map((secret) => secret.name)).toEqual([
      'JWT_SECRET_KEY',
      'OPENAI_API_KEY',
      'ANTHROPIC_API_KEY',
    ]);

    // Then the revision production runs after the promotion, a new one, holds the same references
    const running = (await serviceState(plane, 'memo-coach-production', 'api')).taskDefinition;
    expect(running).not.toBe(seeded[API]?.running.production);
    expect(await secretsOf(running)).toEqual(named);
  });

  it('answers FAILED when the green revision never turns healthy on the test listener, so ECS rolls back', async () => {
    // Given green answers 503 on the test listener while production (blue) is healthy
    greenHealthy = false;
    try {
      // When ECS calls the hook for another deployment, then it fails after the example's 12 runs
      const answers = await hookUntilDecided('api', 'green-unhealthy');
      expect(answers).toEqual([...Array.from({ length: 11 }, () => 'IN_PROGRESS'), 'FAILED']);
      expect(health.received.filter(({ path }) => path === '/green/api/health')).not.toHaveLength(0);
    } finally {
      greenHealthy = true;
    }
  });

  it('rolls production back to the revision it ran before, its secrets intact', async () => {
    // When the team rolls the backend back
    const rollback = await requested(plane, {
      app: API,
      environment: 'production',
      target: { kind: 'rollback' },
      requestedBy: person('mina'),
    });

    // Then the first build's revision runs again, with the secrets the file names
    expect(rollback).toMatchObject({
      kind: 'rollback',
      to: { taskDefinitionArn: seeded[API]?.running.production, digest: seeded[API]?.digests[BUILDS[0] as string] },
    });
    const running = (await serviceState(plane, 'memo-coach-production', 'api')).taskDefinition;
    expect(running).toBe(seeded[API]?.running.production);
    const file = exampleTaskDefinition(EXAMPLE, 'api.task-definition.json', {});
    expect((await secretsOf(running))?.[0]?.secrets).toEqual(file.containerDefinitions?.[0]?.secrets);
  });
});

describe('memo-coach: the nightly archive of the SQLite volume', () => {
  it('archives memoai.db while the backend writes to it, restores it whole and checked, and drills it', async () => {
    // Given the backend's stand-in writing to /data/memoai.db in WAL mode without pause, beside an uploads folder.
    // (On EFS the backend keeps rollback-journal mode, as the runbook says: WAL needs its readers on one host.)
    const data = join(work, 'mnt', 'memo-coach-data');
    await mkdir(join(data, 'avatars'));
    await writeFile(join(data, 'avatars', 'mina.png'), Buffer.alloc(4_000, 7));
    const writer = new Writer(join(data, 'memoai.db'));
    const jobs = archives();
    try {
      await writer.until(200);
      const before = writer.committed;

      // When the 02:00 schedule archives the volume, in the worker task (runner: ecs)
      clock = new Date('2026-12-06T02:00:00.000Z');
      const archive = await jobs.take({ volume: 'memo-coach-data' }, 'schedule');
      expect(worker.started.map(({ target }) => target.runner)).toEqual(['ecs']);
      expect(await worker.runQueued(workerDeps())).toEqual([{ id: archive.id, status: 'AVAILABLE' }]);
      const after = writer.committed;
      await writer.until(after + 20);
      expect(after).toBeGreaterThan(before);

      // And it is restored beside the live files, as `slipway restore --volume … --target-path restored-1` asks
      clock = new Date('2026-12-06T10:00:00.000Z');
      const restore = await jobs.restore({
        subject: { volume: 'memo-coach-data' },
        target: { path: 'restored-1' },
        force: false,
        requestedBy: 'mina',
      });
      expect(await worker.runQueued(workerDeps())).toEqual([{ id: restore.id, status: 'AVAILABLE' }]);

      // Then the restored database is alone (no -wal, no -shm), passes its check, and holds ids 1..n: every write
      // committed before the archive began, none torn
      const restored = join(data, 'restored-1');
      expect((await readdir(restored)).sort()).toEqual(['avatars', 'memoai.db']);
      const copy = join(restored, 'memoai.db');
      expect(await query(copy, 'PRAGMA integrity_check')).toBe('ok');
      const [count, lowest, highest] = (await query(copy, 'SELECT count(*), min(id), max(id) FROM t')).split('|');
      expect(Number(count)).toBeGreaterThanOrEqual(before);
      expect(Number(count)).toBeLessThanOrEqual(after + 1);
      expect([Number(lowest), Number(highest)]).toEqual([1, Number(count)]);
    } finally {
      await writer.stop();
    }

    // When the Sunday drill runs, then it restores onto the worker's disk, checks the database again and removes it
    const drill = await jobs.drill({ volume: 'memo-coach-data' });
    expect(await worker.runQueued(workerDeps())).toEqual([{ id: drill.id, status: 'AVAILABLE' }]);
    expect(await new RestoreStore(plane.documents, plane.table).get(drill.id)).toMatchObject({
      status: 'AVAILABLE',
      deletedAt: expect.any(String),
    });
  }, 30_000);
});
