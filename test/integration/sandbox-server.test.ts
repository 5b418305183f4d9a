import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListServicesCommand,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { CreateDBSnapshotCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { loadStageConfig } from '../../lib/config/load';
import { healthPath, ManualClock, SANDBOX_HEADER, type Sandbox, startSandbox } from '../../lib/sandbox';
import type { Json } from '../../lib/sandbox/wire';

/**
 * The sandbox's server through the SDK's own clients (lib/aws/clients/, AWS_ENDPOINT_URL pointed at it):
 * state kept across restarts, operations it does not serve refused as each service does, every answer
 * marked as the sandbox's, the worker task's RunTask and StopTask, the health server the config's checks
 * reach, and the push and alarm routes the CLI will call.
 */

const config = loadStageConfig('sandbox');
const clock = new ManualClock(Date.parse('2026-11-22T03:00:00Z'));
let work: string;
let sandbox: Sandbox;
const deliveries: Array<{ functionName: string; event: Json }> = [];
let refuse = false;

const start = () =>
  startSandbox({
    stateDir: join(work, 'sandbox'),
    config,
    stage: 'sandbox',
    rules: [{ functionName: 'slipway-sandbox-everything', pattern: { source: [{ prefix: 'aws.' }] } }],
    deliver: async (functionName, event) => {
      if (refuse) throw new Error('not listening yet');
      deliveries.push({ functionName, event });
    },
    clock,
    healthPort: 0,
  });

const env = () => ({ AWS_ENDPOINT_URL: sandbox.endpoint, AWS_REGION: 'us-east-1' });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'slipway-sandbox-server-'));
  sandbox = await start();
});

afterAll(async () => {
  await sandbox?.close();
  await rm(work, { recursive: true, force: true });
});

describe('the sandbox server', () => {
  it("seeds a fresh state directory from the config: the state, and each volume's files", async () => {
    expect(existsSync(join(work, 'sandbox', 'aws.json'))).toBe(true);
    expect(readdirSync(join(sandbox.volumeRoot, 'shop-uploads')).sort()).toEqual(['README.txt', 'uploads']);
    const { services } = await createEcsClient(env()).send(
      new DescribeServicesCommand({ cluster: 'shop-production', services: ['backend'] }),
    );
    expect(services?.[0]).toMatchObject({ runningCount: 2, status: 'ACTIVE' });
  });

  it("marks every answer as the sandbox's, and refuses what it does not serve as each service would", async () => {
    const ecs = await fetch(sandbox.endpoint, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.DeleteCluster',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{"cluster":"shop-staging"}',
    });
    expect(ecs.status).toBe(400);
    expect(ecs.headers.get(SANDBOX_HEADER)).toBe('true');
    expect(await ecs.json()).toEqual({
      __type: 'UnknownOperationException',
      message: expect.stringContaining('DeleteCluster'),
    });
    await expect(
      createEcsClient(env()).send(new ListServicesCommand({ cluster: 'shop-staging' })),
    ).rejects.toHaveProperty('name', 'UnknownOperationException');

    const rds = await fetch(sandbox.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=RebootDBInstance&Version=2014-10-31&DBInstanceIdentifier=shop-db',
    });
    expect(rds.status).toBe(400);
    expect(rds.headers.get(SANDBOX_HEADER)).toBe('true');
    expect(await rds.text()).toContain('<Code>InvalidAction</Code>');

    const other = await fetch(sandbox.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'secretsmanager.GetSecretValue' },
      body: '{}',
    });
    expect(other.status).toBe(400);
    expect(((await other.json()) as Json).__type).toBe('UnknownOperationException');
  });

  it('runs the worker task until it is stopped, and lists it stopped with the reason given', async () => {
    const ecs = createEcsClient(env());
    const { taskDefinition } =
      (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-staging', services: ['backend'] }))).services?.[0] ??
      {};
    const { tasks } = await ecs.send(
      new RunTaskCommand({
        cluster: 'shop-staging',
        taskDefinition,
        launchType: 'FARGATE',
        startedBy: 'slipway',
        tags: [{ key: 'slipway:job', value: 'bkp-1' }],
      }),
    );
    const taskArn = tasks?.[0]?.taskArn as string;
    expect(tasks?.[0]).toMatchObject({ lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', startedBy: 'slipway' });
    clock.advance(2_000);
    await sandbox.advance();
    expect(
      (await ecs.send(new DescribeTasksCommand({ cluster: 'shop-staging', tasks: [taskArn], include: ['TAGS'] })))
        .tasks?.[0],
    ).toMatchObject({
      lastStatus: 'RUNNING',
      tags: [{ key: 'slipway:job', value: 'bkp-1' }],
    });
    await ecs.send(
      new StopTaskCommand({ cluster: 'shop-staging', task: taskArn, reason: 'past worker.timeoutMinutes' }),
    );
    clock.advance(2_000);
    await sandbox.advance();
    const { taskArns } = await ecs.send(
      new ListTasksCommand({ cluster: 'shop-staging', startedBy: 'slipway', desiredStatus: 'STOPPED' }),
    );
    expect(taskArns).toEqual([taskArn]);
    const [stopped] =
      (await ecs.send(new DescribeTasksCommand({ cluster: 'shop-staging', tasks: [taskArn] }))).tasks ?? [];
    expect(stopped).toMatchObject({
      lastStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      stoppedReason: 'past worker.timeoutMinutes',
    });
  });

  it("answers each environment's health check: healthy, then unhealthy while its alarm is in ALARM", async () => {
    const url = `${sandbox.healthEndpoint}${healthPath('shop', 'production')}`;
    const healthy = await fetch(url);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ status: 'healthy', runningTasks: 2, alarms: [] });

    await sandbox.alarm('shop', 'production', 'ALARM');
    const unhealthy = await fetch(url);
    expect(unhealthy.status).toBe(503);
    expect(await unhealthy.json()).toEqual({
      status: 'unhealthy',
      runningTasks: 2,
      alarms: ['slipway-sandbox-shop-production-availability'],
    });
    await sandbox.alarm('shop', 'production', 'OK');
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(`${sandbox.healthEndpoint}${healthPath('shop', 'nope')}`)).status).toBe(404);
  });

  it('pushes and flips alarms through its routes, refusing bad bodies with the field and the reason', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${sandbox.endpoint}/_sandbox/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const pushed = await post('push', { app: 'shop', tag: 'develop-44' });
    expect(pushed.status).toBe(200);
    const { digest } = (await pushed.json()) as { digest: string };
    const { imageDetails } = await createEcrClient(env()).send(
      new DescribeImagesCommand({ repositoryName: 'shop-backend', imageIds: [{ imageTag: 'develop-44' }] }),
    );
    expect(imageDetails?.[0]?.imageDigest).toBe(digest);
    expect(deliveries.at(-1)?.event).toMatchObject({
      'detail-type': 'ECR Image Action',
      detail: { 'image-tag': 'develop-44' },
    });

    expect(await (await post('push', { app: 'shop', tag: 'bad tag' })).json()).toEqual({
      error: { code: 'InvalidRequest', message: expect.stringMatching(/^tag: a Docker tag/) },
    });
    expect((await post('push', { app: 'nope', tag: 'x' })).status).toBe(404);
    expect((await post('alarm', { app: 'shop', environment: 'production', state: 'MAYBE' })).status).toBe(400);
    expect(
      (await post('alarm', { app: 'shop', environment: 'production', state: 'ALARM', alarmName: 'nope' })).status,
    ).toBe(404);
    const health = await fetch(`${sandbox.endpoint}/_sandbox/health`);
    expect(await health.json()).toMatchObject({ sandbox: true, stage: 'sandbox', pendingEvents: 0 });
  });

  it('keeps what it holds, and what it has not delivered yet, across a restart', async () => {
    // Given an event its function does not take yet, and a snapshot being taken
    refuse = true;
    await sandbox.push('shop', 'develop-45');
    const rds = createRdsClient(env());
    await rds.send(new CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'kept', DBInstanceIdentifier: 'shop-db' }));
    const pending = sandbox.state().outbox.length;
    expect(pending).toBeGreaterThan(0);

    // When the sandbox stops and starts again on the same directory
    await sandbox.close();
    refuse = false;
    sandbox = await start();

    // Then nothing was seeded afresh, and the undelivered event and the snapshot's progress carry on
    expect(sandbox.state().outbox.length).toBe(pending);
    const { imageDetails } = await createEcrClient(env()).send(
      new DescribeImagesCommand({ repositoryName: 'shop-backend', imageIds: [{ imageTag: 'develop-45' }] }),
    );
    expect(imageDetails).toHaveLength(1);
    clock.advance(60_000);
    await sandbox.advance();
    expect(sandbox.state().outbox).toEqual([]);
    expect(deliveries.some(({ event }) => (event.detail as Json)['image-tag'] === 'develop-45')).toBe(true);
    const { DBSnapshots } = await createRdsClient(env()).send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'kept' }),
    );
    expect(DBSnapshots?.[0]?.Status).toBe('available');
    const { DBInstances } = await createRdsClient(env()).send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'shop-db' }),
    );
    expect(DBInstances?.[0]?.DBInstanceStatus).toBe('available');
  });
});
