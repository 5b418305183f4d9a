import { loadConfigFile } from '../../../lib/config/load';
import { alarmDefinitions, alarmOf, recoverAlarms, setAlarm } from '../../../lib/sandbox/alarms';
import { ecrOperations, pushTag } from '../../../lib/sandbox/ecr';
import { ecsOperations } from '../../../lib/sandbox/ecs';
import { rdsOperations } from '../../../lib/sandbox/rds';
import { seedState } from '../../../lib/sandbox/seed';
import { DEFAULT_TIMINGS, type Sim } from '../../../lib/sandbox/sim';
import { Simulation } from '../../../lib/sandbox/simulation';
import type { SandboxState } from '../../../lib/sandbox/state';
import type { Json } from '../../../lib/sandbox/wire';
import { closestPublished, kindOf, publishedExamples } from '../../support/published-shapes';

/**
 * The simulation without its server: the account seeded from config/sandbox.yml, then rollouts, a crashing
 * image, pushes, alarms and snapshots, on a clock moved by hand. Every event it sends has the shape AWS
 * publishes for its kind (test/fixtures/published/), by the same comparison events/ is held to.
 */

const config = loadConfigFile('config/sandbox.yml');
const definitions = alarmDefinitions(config, 'sandbox');
const START = Date.parse('2026-11-22T03:00:00.250Z');
const REGION = 'us-east-1';
const ALL = [{ functionName: 'every-function', pattern: { source: [{ prefix: 'aws.' }] } }];
const published = publishedExamples();

let state: SandboxState;
let simulation: Simulation;
let now: number;

beforeEach(() => {
  state = seedState({
    config,
    alarms: definitions,
    now: START,
    simulation: (fresh) => new Simulation(fresh, DEFAULT_TIMINGS, []),
  });
  simulation = new Simulation(state, DEFAULT_TIMINGS, ALL);
  now = START;
});

const call = (operations: Record<string, { handle: (input: Json, sim: Sim) => Json }>, name: string, input: Json) =>
  simulation.run(now, REGION, (sim) =>
    (operations[name] as { handle: (input: Json, sim: Sim) => Json }).handle(input, sim),
  );
const ecs = (name: string, input: Json) => call(ecsOperations, name, input);
const rds = (name: string, input: Json) => call(rdsOperations, name, input);

/** Moves the clock on, letting everything due happen, and returns what was sent meanwhile. */
function wait(ms: number): Json[] {
  now += ms;
  simulation.advanceTo(now);
  return sent();
}

function sent(): Json[] {
  const events = state.outbox.map((delivery) => delivery.event);
  state.outbox = [];
  return events;
}

const detail = (event: Json) => event.detail as Json;
const ofKind = (kind: string, events: Json[]) => events.filter((event) => event['detail-type'] === kind);
const ECS_EVENT = 'ECS Deployment State Change';
const service = (cluster: string) =>
  (ecs('DescribeServices', { cluster, services: ['backend'] }).services as Json[])[0] as Json;

/** UpdateService to a copy of the running revision with another image, as Slipway's deploy does. */
function deploy(cluster: string, tag: string): Json {
  const repo = state.ecr.repositories[0];
  const image = simulation.run(now, REGION, (sim) => pushTag(sim, repo as NonNullable<typeof repo>, tag));
  const running = ecs('DescribeTaskDefinition', { taskDefinition: service(cluster).taskDefinition, include: ['TAGS'] });
  const {
    taskDefinitionArn,
    revision,
    status,
    requiresAttributes,
    compatibilities,
    registeredAt,
    registeredBy,
    ...definition
  } = running.taskDefinition as Json;
  const containers = (definition.containerDefinitions as Json[]).map((container) => ({
    ...container,
    image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend@${image.digest}`,
  }));
  const registered = ecs('RegisterTaskDefinition', {
    ...definition,
    containerDefinitions: containers,
    tags: running.tags,
  });
  sent();
  return ecs('UpdateService', {
    cluster,
    service: 'backend',
    taskDefinition: (registered.taskDefinition as Json).taskDefinitionArn,
  }).service as Json;
}

function expectPublishedShape(event: Json): void {
  const kind = kindOf(event) as string;
  const { example, differences } = closestPublished(
    event,
    published.filter((each) => each.kind === kind),
  );
  expect({ kind, closest: example.file, differences }).toEqual({ kind, closest: example.file, differences: [] });
}

describe('the account seeded from config/sandbox.yml', () => {
  it('runs each environment as a Fargate service on the first image, with the circuit breaker and rollback on', () => {
    for (const cluster of ['shop-staging', 'shop-production']) {
      const described = service(cluster);
      expect(described).toMatchObject({
        status: 'ACTIVE',
        desiredCount: 2,
        runningCount: 2,
        pendingCount: 0,
        launchType: 'FARGATE',
      });
      expect(described.deploymentConfiguration).toMatchObject({
        deploymentCircuitBreaker: { enable: true, rollback: true },
      });
      expect((described.deployments as Json[]).map((each) => [each.status, each.rolloutState])).toEqual([
        ['PRIMARY', 'COMPLETED'],
      ]);
      const revision = ecs('DescribeTaskDefinition', { taskDefinition: described.taskDefinition })
        .taskDefinition as Json;
      const digest = state.ecr.repositories[0]?.images.find((image) => image.tags.includes('develop-41'))?.digest;
      expect((revision.containerDefinitions as Json[])[0]?.image).toBe(
        `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend@${digest}`,
      );
    }
  });

  it('holds both images, scanned; the database available in its subnet group; the alarms OK; and nothing to deliver', () => {
    const images = call(ecrOperations, 'DescribeImages', { repositoryName: 'shop-backend' }).imageDetails as Json[];
    expect(images.map((image) => [image.imageTags, (image.imageScanStatus as Json).status])).toEqual([
      [['develop-41'], 'COMPLETE'],
      [['develop-42'], 'COMPLETE'],
    ]);
    const [instance] = rds('DescribeDBInstances', { DBInstanceIdentifier: 'shop-db' }).DBInstances as Json[];
    expect(instance).toMatchObject({
      DBInstanceStatus: 'available',
      StorageEncrypted: true,
      KmsKeyId: config.databases['shop-db']?.kmsKeyArn,
    });
    expect((instance as Json).DBSubnetGroup).toMatchObject({ DBSubnetGroupName: 'shop-db-subnets' });
    expect(state.alarms.map((alarm) => [alarm.name, alarm.value])).toEqual([
      ['slipway-sandbox-shop-staging-availability', 'OK'],
      ['slipway-sandbox-shop-staging-latency', 'OK'],
      ['slipway-sandbox-shop-production-availability', 'OK'],
      ['slipway-sandbox-shop-production-latency', 'OK'],
    ]);
    expect(state.outbox).toEqual([]);
  });
});

describe('a rolling update', () => {
  it('goes PRIMARY, starts its tasks, stops the old ones and completes within seconds, each event to the second', () => {
    // When staging is updated to a new revision
    const updated = deploy('shop-staging', 'develop-50');
    const id = ((updated.deployments as Json[])[0] as Json).id as string;
    const started = sent();

    // Then the new deployment is PRIMARY and in progress, its tasks starting
    expect((updated.deployments as Json[]).map((each) => [each.status, each.rolloutState])).toEqual([
      ['PRIMARY', 'IN_PROGRESS'],
      ['ACTIVE', 'COMPLETED'],
    ]);
    expect(updated.pendingCount).toBe(2);
    expect(started.map((event) => [event.time, detail(event).eventName, detail(event).deploymentId])).toEqual([
      ['2026-11-22T03:00:00Z', 'SERVICE_DEPLOYMENT_IN_PROGRESS', id],
    ]);

    // When a few seconds pass
    const events = ofKind(ECS_EVENT, wait(5_000));

    // Then it completed, after its tasks ran and the old ones stopped
    expect(events.map((event) => [event.time, detail(event).eventName, detail(event).reason])).toEqual([
      ['2026-11-22T03:00:02Z', 'SERVICE_DEPLOYMENT_COMPLETED', `ECS deployment ${id} completed.`],
    ]);
    expect(detail(events[0] as Json).updatedAt).toBe('2026-11-22T03:00:02Z');
    const after = service('shop-staging');
    expect(after).toMatchObject({ runningCount: 2, pendingCount: 0, taskDefinition: updated.taskDefinition });
    expect((after.deployments as Json[]).map((each) => [each.id, each.rolloutState])).toEqual([[id, 'COMPLETED']]);
    expect(
      (after.events as Json[]).slice(0, 4).map((event) => String(event.message).replace(/\(task \w+\)/g, '(task …)')),
    ).toEqual([
      '(service backend) has reached a steady state.',
      `(service backend) deployment ${id} deployment completed.`,
      '(service backend) has stopped 2 running tasks: (task …) (task …).',
      '(service backend) has started 2 tasks: (task …) (task …).',
    ]);
    for (const event of [...started, ...events]) expectPublishedShape(event);
  });

  it('given an image tagged -crashloop, the tasks exit 1, the breaker fails the deployment and rolls back in the same second', () => {
    // Given staging running develop-41
    const before = service('shop-staging');
    const failedId = ((deploy('shop-staging', 'develop-51-crashloop').deployments as Json[])[0] as Json).id as string;
    sent();

    // When the tasks start and crash
    const events = ofKind(ECS_EVENT, wait(10_000));

    // Then ECS failed the deployment and started the rollback to the last completed one, both in the same second
    const previousId = ((before.deployments as Json[])[0] as Json).id as string;
    const [failed, rolling, completed] = events;
    expect(events.map((event) => [detail(event).eventName, detail(event).reason])).toEqual([
      ['SERVICE_DEPLOYMENT_FAILED', 'ECS deployment circuit breaker: task failed to start.'],
      ['SERVICE_DEPLOYMENT_IN_PROGRESS', `ECS deployment circuit breaker: rolling back to deploymentId ${previousId}.`],
      ['SERVICE_DEPLOYMENT_COMPLETED', expect.stringMatching(/^ECS deployment ecs-svc\/\d{19} completed\.$/)],
    ]);
    expect(detail(failed as Json).deploymentId).toBe(failedId);
    expect((failed as Json).time).toBe((rolling as Json).time);
    expect(detail(rolling as Json).deploymentId).toBe(detail(completed as Json).deploymentId);
    for (const event of events) expectPublishedShape(event);

    // And the service runs the old revision again; its crashed tasks tell why
    expect(service('shop-staging').taskDefinition).toBe(before.taskDefinition);
    const { taskArns } = ecs('ListTasks', {
      cluster: 'shop-staging',
      serviceName: 'backend',
      desiredStatus: 'STOPPED',
    });
    const tasks = ecs('DescribeTasks', { cluster: 'shop-staging', tasks: taskArns }).tasks as Json[];
    const crashed = tasks.filter((task) => task.stopCode === 'EssentialContainerExited');
    expect(crashed.length).toBeGreaterThanOrEqual(3);
    for (const task of crashed) {
      expect(task).toMatchObject({ stoppedReason: 'Essential container in task exited', lastStatus: 'STOPPED' });
      expect((task.containers as Json[])[0]).toMatchObject({ name: 'backend', exitCode: 1, lastStatus: 'STOPPED' });
    }
    const messages = (service('shop-staging').events as Json[]).map((event) => event.message);
    expect(messages).toContain(`(service backend) deployment ${failedId} deployment failed: tasks failed to start.`);
    expect(messages).toContain(`(service backend) rolling back to deployment ${previousId}.`);

    // And its service deployment says it rolled back, and why
    const arn = service('shop-staging').currentServiceDeployment;
    const [record] = ecs('DescribeServiceDeployments', { serviceDeploymentArns: [arn] }).serviceDeployments as Json[];
    expect(record).toMatchObject({
      status: 'ROLLBACK_SUCCESSFUL',
      rollback: { reason: `ECS deployment circuit breaker: rolling back to deploymentId ${previousId}.` },
      deploymentCircuitBreaker: { status: 'TRIGGERED', threshold: 3 },
    });
  });

  it('given the clock moved by an hour at once, then each change happens at its own time, in order', () => {
    deploy('shop-production', 'develop-52');
    sent();
    const events = ofKind(ECS_EVENT, wait(3_600_000));
    expect(events.map((event) => [event.time, detail(event).eventName])).toEqual([
      ['2026-11-22T03:00:02Z', 'SERVICE_DEPLOYMENT_COMPLETED'],
    ]);
  });
});

describe('a push', () => {
  it('sends the push, then the scan with the counts of a -vulnerable image', () => {
    const repo = state.ecr.repositories[0] as NonNullable<(typeof state.ecr.repositories)[0]>;
    const image = simulation.run(now, REGION, (sim) => pushTag(sim, repo, 'develop-60-vulnerable'));
    const pushed = sent();
    const scanned = wait(5_000);
    expect(pushed.map((event) => detail(event))).toEqual([
      {
        result: 'SUCCESS',
        'repository-name': 'shop-backend',
        'image-digest': image.digest,
        'action-type': 'PUSH',
        'image-tag': 'develop-60-vulnerable',
      },
    ]);
    expect(scanned.map((event) => detail(event))).toEqual([
      {
        'scan-status': 'COMPLETE',
        'repository-name': 'shop-backend',
        'finding-severity-counts': { CRITICAL: 1, HIGH: 2 },
        'image-digest': image.digest,
        'image-tags': ['develop-60-vulnerable'],
      },
    ]);
    for (const event of [...pushed, ...scanned]) expectPublishedShape(event);
  });
});

describe('an alarm', () => {
  it('sends the state change to ALARM with the OK it left, and goes back to OK once a deployment completes after it', () => {
    const availability = alarmOf(definitions, 'shop', 'production');
    simulation.run(now, REGION, (sim) => setAlarm(sim, availability, 'ALARM'));
    const [fired] = sent();
    expect(detail(fired as Json)).toMatchObject({
      alarmName: 'slipway-sandbox-shop-production-availability',
      state: { value: 'ALARM', reason: expect.stringMatching(/^Threshold Crossed: 3 out of the last 5 datapoints/) },
      previousState: { value: 'OK' },
    });
    expectPublishedShape(fired as Json);

    // When a deployment of production completes afterwards (the server follows alarms so)
    simulation = new Simulation(state, DEFAULT_TIMINGS, ALL, recoverAlarms(config, definitions));
    deploy('shop-production', 'develop-70');
    sent();
    const events = wait(5_000).filter((event) => event['detail-type'] !== 'ECR Image Scan');
    expect(
      events.map((event) => [event['detail-type'], detail(event).eventName ?? (detail(event).state as Json).value]),
    ).toEqual([
      ['ECS Deployment State Change', 'SERVICE_DEPLOYMENT_COMPLETED'],
      ['CloudWatch Alarm State Change', 'OK'],
    ]);
    expectPublishedShape(events[1] as Json);
  });
});

describe('an RDS snapshot and a restore', () => {
  it('is creating while the instance backs up, then available with RDS-EVENT-0042; a restore is available with RDS-EVENT-0043', () => {
    const taken = rds('CreateDBSnapshot', {
      DBSnapshotIdentifier: 'slipway-shop-db-202611220300',
      DBInstanceIdentifier: 'shop-db',
    });
    expect((taken.DBSnapshot as Json).Status).toBe('creating');
    expect(
      ((rds('DescribeDBInstances', { DBInstanceIdentifier: 'shop-db' }).DBInstances as Json[])[0] as Json)
        .DBInstanceStatus,
    ).toBe('backing-up');
    const created = wait(5_000);
    expect(created.map((event) => detail(event))).toEqual([
      expect.objectContaining({
        EventID: 'RDS-EVENT-0042',
        Message: 'Manual snapshot created',
        SourceIdentifier: 'slipway-shop-db-202611220300',
      }),
    ]);
    expect(
      ((rds('DescribeDBInstances', { DBInstanceIdentifier: 'shop-db' }).DBInstances as Json[])[0] as Json)
        .DBInstanceStatus,
    ).toBe('available');

    const restored = rds('RestoreDBInstanceFromDBSnapshot', {
      DBInstanceIdentifier: 'shop-restored',
      DBSnapshotIdentifier: 'slipway-shop-db-202611220300',
      DBSubnetGroupName: 'shop-db-subnets',
    });
    expect(restored.DBInstance as Json).toMatchObject({
      DBInstanceStatus: 'creating',
      DBInstanceClass: 'db.t4g.micro',
      StorageEncrypted: true,
    });
    const available = wait(10_000);
    expect(available.map((event) => detail(event))).toEqual([
      expect.objectContaining({
        EventID: 'RDS-EVENT-0043',
        Message: 'Restored from snapshot slipway-shop-db-202611220300',
        SourceIdentifier: 'shop-restored',
      }),
    ]);
    for (const event of [...created, ...available]) expectPublishedShape(event);
  });
});

describe('delivery', () => {
  it('retries a failed delivery later and later, and drops one older than EventBridge keeps events', () => {
    simulation.run(now, REGION, (sim) => setAlarm(sim, alarmOf(definitions, 'shop', 'staging'), 'ALARM'));
    const delivery = simulation.nextDelivery(now);
    if (!delivery) throw new Error('nothing to deliver');
    expect(simulation.failed(delivery, now)).toBe(false);
    expect(delivery.nextAttemptAt - now).toBe(1_000);
    expect(simulation.failed(delivery, now)).toBe(false);
    expect(delivery.nextAttemptAt - now).toBe(2_000);
    expect(simulation.nextDelivery(now)).toBeUndefined();
    expect(simulation.failed(delivery, now + 25 * 3_600_000)).toBe(true);
    expect(state.outbox).toEqual([]);
  });
});
