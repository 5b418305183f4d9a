import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { makeHandler as makeAlarmState } from '../../functions/events/alarm-state';
import { makeHandler as makeLifecycleHook } from '../../functions/hooks/ecs-lifecycle-hook';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { configSchema } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import { ecsDeploymentEvent } from '../../lib/deploy/outcome';
import { sqsDeadLetters } from '../../lib/events/dead-letter';
import { AlarmResponder } from '../../lib/health/alarm-responder';
import { LifecycleHook } from '../../lib/health/lifecycle-hook';
import { probeAll } from '../../lib/health/probe';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { auditOn } from '../support/audit';
import { type FakeAws, fakeAws, HOME, REPOSITORY } from '../support/fake-ecs';
import { lambdaContext } from '../support/http';
import { createStateTable } from '../support/resources';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';
const AVAILABILITY = 'slipway-test-shop-production-availability';

let dynamodb: EmbeddedServer;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let documents: DynamoDBDocumentClient;
let aws: FakeAws;
const mockSns = () => mockClient(SNSClient);
let sns: ReturnType<typeof mockSns>;
let clock: Date;
let tables = 0;
let tableName: string;
let deployments: Deployments;
let trail: ReturnType<typeof auditOn>;
let app: Server;
let appUrl: string;
/** Whether the production listener (the blue revision, until production traffic shifts) answers healthy. */
let healthy = true;
/** Whether the test listener (the green revision, once test traffic shifts) answers healthy. */
let greenHealthy = true;
/** Which listener each probe reached, in order. */
let probed: Array<'production' | 'test'> = [];

function configFor(url: string) {
  return configSchema.parse({
    auth: { tokensSecret: 'slipway/api-tokens' },
    apps: {
      shop: {
        repository: REPOSITORY,
        containers: ['backend'],
        environments: {
          production: {
            cluster: 'shop-prod',
            service: 'backend',
            bakeMinutes: 30,
            health: [
              { name: 'ready', url: `${url}/health/ready`, timeoutMs: 500 },
              { name: 'ready-green', url: `${url}/test-listener/health/ready`, timeoutMs: 500, stage: 'test' },
            ],
            lifecycleHook: { requiredPasses: 2, maxAttempts: 3, callBackDelaySeconds: 15 },
          },
        },
      },
    },
  });
}

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  // The application the lifecycle hook checks, healthy or not as the test says.
  // Its test listener is told apart by path here; in AWS it is another listener port or host.
  app = createServer((request, response) => {
    const listener = request.url?.startsWith('/test-listener/') ? 'test' : 'production';
    probed.push(listener);
    const up = listener === 'test' ? greenHealthy : healthy;
    response.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: up ? 'healthy' : 'down' }));
  });
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await dynamodb.close();
  await new Promise((done) => app.close(done));
});

beforeEach(async () => {
  tables += 1;
  tableName = `slipway-alarms-test-${tables}`;
  await createStateTable(dynamoClient, tableName);
  aws = fakeAws();
  sns = mockSns();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  clock = new Date('2026-11-22T10:00:00.000Z');
  healthy = true;
  greenHealthy = true;
  probed = [];
  trail = auditOn(documents, tableName, () => clock);
  deployments = new Deployments({
    config: configFor(appUrl),
    stage: 'test',
    store: new DeploymentStore(documents, tableName),
    locks: new EnvironmentLocks(documents, tableName),
    ecsFor: () => new ECSClient({ region: 'us-east-1' }),
    ecrFor: (region) => new ECRClient({ region }),
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    audit: trail.audit,
    now: () => clock,
  });
});

afterEach(() => {
  aws.restore();
  sns.restore();
});

const alarmHandler = () =>
  makeAlarmState({
    responder: new AlarmResponder({
      config: configFor(appUrl),
      stage: 'test',
      deployments,
      idempotency: dynamoDbIdempotency(documents, tableName),
      publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
      now: () => clock,
    }),
    deadLetters: sqsDeadLetters(
      { send: async () => ({}) } as never,
      'https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters',
    ),
  });

function alarmEvent(state: string, previous: string, timestamp: string, name = AVAILABILITY) {
  const event = JSON.parse(readFileSync('events/cloudwatch.alarm-state-change.json', 'utf8'));
  event.detail.alarmName = name;
  event.detail.state = { ...event.detail.state, value: state, timestamp };
  event.detail.previousState = { ...event.detail.previousState, value: previous };
  return event;
}

/** Deploys 1.5.0 at 10:00 and reports it completed at 10:05. */
async function deploySuccessfully() {
  const outcome = await deployments.request({
    app: 'shop',
    environment: 'production',
    target: { kind: 'deploy', tag: '1.5.0' },
    requestedBy: { name: 'alice', kind: 'token' },
  });
  if (outcome.dryRun) throw new Error('not a dry run');
  clock = new Date('2026-11-22T10:05:00.000Z');
  await deployments.onEcsEvent(
    ecsDeploymentEvent.parse(
      aws.event('shop-prod', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: '2026-11-22T10:05:00Z' }),
    ),
    HOME,
  );
  return outcome.deployment;
}

const rollbacks = () =>
  aws.ecs.commandCalls(UpdateServiceCommand).filter((call) => call.args[0].input.taskDefinition?.endsWith(':41'));

describe('automatic rollback on an alarm', () => {
  it('rolls back exactly once when the alarm fires inside the bake window, however often the event comes', async () => {
    // Given 1.5.0 deployed successfully at 10:05 with a 30-minute bake window
    const deployed = await deploySuccessfully();

    // When the availability alarm goes OK → ALARM at 10:12, delivered three times
    clock = new Date('2026-11-22T10:12:30.000Z');
    const event = alarmEvent('ALARM', 'OK', '2026-11-22T10:12:00.000+0000');
    const results = [];
    for (let delivery = 0; delivery < 3; delivery++) results.push(await alarmHandler()(event, lambdaContext()));

    // Then one rollback to the revision before 1.5.0, recorded as the alarm's
    expect(rollbacks()).toHaveLength(1);
    const [first] = results;
    const outcome = first?.handled ? first.result : undefined;
    expect(outcome).toMatchObject({ action: 'rollback', app: 'shop', environment: 'production' });
    for (const again of results) expect(again.handled && again.result.deploymentId).toBe(outcome?.deploymentId);
    const rollback = await deployments.get(outcome?.deploymentId as string);
    expect(rollback).toMatchObject({
      kind: 'rollback',
      requestedBy: { name: `alarm:${AVAILABILITY}`, kind: 'system' },
      to: { taskDefinitionArn: deployed.from.taskDefinitionArn },
    });
    expect(rollback.reason).toContain(`inside the 30-minute bake window of ${deployed.id}`);
    // And every delivery was told to subscribers as an alarm
    expect(
      sns
        .commandCalls(PublishCommand)
        .some((call) => call.args[0].input.MessageAttributes?.type?.StringValue === 'alarm'),
    ).toBe(true);
    // And the audit trail has the one rollback, by the alarm, as Slipway's own action
    const audited = (await trail.entries()).filter((entry) => entry.action === 'deployment.rollback');
    expect(audited).toEqual([
      expect.objectContaining({
        source: 'automatic',
        actor: `alarm:${AVAILABILITY}`,
        decision: 'allowed',
        target: { app: 'shop', environment: 'production', deploymentId: outcome?.deploymentId },
        outcome: expect.objectContaining({ result: 'succeeded', code: 'IN_PROGRESS' }),
      }),
    ]);
  });

  it('only notifies outside the bake window', async () => {
    await deploySuccessfully();
    clock = new Date('2026-11-22T10:40:00.000Z');
    const result = await alarmHandler()(alarmEvent('ALARM', 'OK', '2026-11-22T10:39:00.000+0000'), lambdaContext());
    expect(result.handled && result.result).toMatchObject({ action: 'notify' });
    expect(result.handled && result.result.reason).toContain('outside the bake window');
    expect(rollbacks()).toHaveLength(0);
  });

  it('never rolls back a rollback', async () => {
    await deploySuccessfully();
    clock = new Date('2026-11-22T10:10:00.000Z');
    await alarmHandler()(alarmEvent('ALARM', 'OK', '2026-11-22T10:09:00.000+0000'), lambdaContext());
    await deployments.onEcsEvent(
      ecsDeploymentEvent.parse(
        aws.event('shop-prod', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: '2026-11-22T10:11:00Z' }),
      ),
      HOME,
    );
    clock = new Date('2026-11-22T10:15:00.000Z');
    const again = await alarmHandler()(alarmEvent('ALARM', 'OK', '2026-11-22T10:14:00.000+0000'), lambdaContext());
    expect(again.handled && again.result.reason).toContain('a rollback is never rolled back');
    expect(rollbacks()).toHaveLength(1);
  });

  it('does not act on an alarm that was already firing, nor on one that fired before the deployment started', async () => {
    await deploySuccessfully();
    clock = new Date('2026-11-22T10:12:00.000Z');
    const already = await alarmHandler()(alarmEvent('ALARM', 'ALARM', '2026-11-22T10:11:00.000+0000'), lambdaContext());
    expect(already.handled && already.result.reason).toBe('the alarm was already firing');
    const before = await alarmHandler()(alarmEvent('ALARM', 'OK', '2026-11-22T09:58:00.000+0000'), lambdaContext());
    expect(before.handled && before.result.reason).toContain('fired before the deployment');
    expect(rollbacks()).toHaveLength(0);
  });

  it('ignores alarms Slipway does not watch', async () => {
    const result = await alarmHandler()(
      alarmEvent('ALARM', 'OK', '2026-11-22T10:12:00.000+0000', 'someone-elses-alarm'),
      lambdaContext(),
    );
    expect(result).toEqual({
      handled: true,
      result: { alarm: 'someone-elses-alarm', action: 'ignored', reason: 'not an alarm Slipway watches' },
    });
  });
});

describe('the ECS lifecycle hook', () => {
  const hook = (config = configFor(appUrl)) =>
    makeLifecycleHook({
      hook: new LifecycleHook({
        config,
        documents,
        tableName,
        probe: probeAll,
        probeOptions: { concurrency: 4 },
      }),
    });
  /** The sample hook payload (POST_TEST_TRAFFIC_SHIFT), for another execution and, if given, another stage. */
  const invocation = (executionId: string, lifecycleStage?: string) => {
    const event = JSON.parse(readFileSync('events/hook.ecs-lifecycle.json', 'utf8'));
    event.executionId = executionId;
    if (lifecycleStage) event.lifecycleStage = lifecycleStage;
    return event;
  };

  it('answers IN_PROGRESS with the callback delay until the checks pass twice in a row, then SUCCEEDED for good', async () => {
    const first = await hook()(invocation('exec-ok'), lambdaContext());
    expect(first).toEqual({
      hookStatus: 'IN_PROGRESS',
      callBackDelay: 15,
      hookDetails: { passes: 1, attempts: 1, reason: '1 check(s) passed' },
    });
    expect(await hook()(invocation('exec-ok'), lambdaContext())).toEqual({ hookStatus: 'SUCCEEDED' });
    // A re-invocation after the decision answers the same, without probing again
    const before = probed.length;
    expect(await hook()(invocation('exec-ok'), lambdaContext())).toEqual({ hookStatus: 'SUCCEEDED' });
    expect(probed).toHaveLength(before);
  });

  it('probes the test listener after test traffic shifts, and fails on the new revision though production is healthy', async () => {
    // Given blue, behind the production listener, is healthy and green, behind the test listener, is not
    greenHealthy = false;

    // When ECS invokes the hook at POST_TEST_TRAFFIC_SHIFT until it decides
    const answers = [];
    for (let attempt = 0; attempt < 3; attempt++)
      answers.push((await hook()(invocation('exec-bad'), lambdaContext())).hookStatus);

    // Then it fails, having probed only the test listener (ECS developer guide, blue/green deployments:
    // until production traffic shifts, production reaches blue)
    expect(answers).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'FAILED']);
    expect(await hook()(invocation('exec-bad'), lambdaContext())).toEqual({ hookStatus: 'FAILED' });
    expect(probed).toEqual(['test', 'test', 'test']);
  });

  it('probes the production checks once production traffic has shifted', async () => {
    // Given green is healthy on production, while the test listener no longer matters
    greenHealthy = false;

    // When ECS invokes the hook at POST_PRODUCTION_TRAFFIC_SHIFT
    const answers = [];
    for (let attempt = 0; attempt < 2; attempt++)
      answers.push(
        (await hook()(invocation('exec-prod', 'POST_PRODUCTION_TRAFFIC_SHIFT'), lambdaContext())).hookStatus,
      );

    // Then it succeeds on the production checks alone
    expect(answers).toEqual(['IN_PROGRESS', 'SUCCEEDED']);
    expect(probed).toEqual(['production', 'production']);
  });

  it.each(['RECONCILE_SERVICE', 'PRE_SCALE_UP', 'POST_SCALE_UP', 'A_STAGE_ECS_ADDS_LATER'])(
    'answers FAILED at %s, where no listener reaches the new revision, without probing',
    async (stage) => {
      expect(await hook()(invocation(`exec-${stage}`, stage), lambdaContext())).toEqual({ hookStatus: 'FAILED' });
      expect(probed).toEqual([]);
    },
  );

  it('answers FAILED at a test stage when the environment has no test check, rather than probe production', async () => {
    // Given production's only checks are on the production listener
    const config = configFor(appUrl);
    const production = config.apps.shop?.environments.production;
    if (!production) throw new Error('no production environment');
    production.health = production.health.filter((check) => check.stage === 'production');

    // When ECS invokes the hook after test traffic shifts, then it fails at once, probing nothing
    expect(await hook(config)(invocation('exec-untested'), lambdaContext())).toEqual({ hookStatus: 'FAILED' });
    expect(probed).toEqual([]);
  });

  it('answers FAILED to a payload it cannot read, and to a service it does not know', async () => {
    expect(await hook()({ lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT' }, lambdaContext())).toEqual({
      hookStatus: 'FAILED',
    });
    const stranger = invocation('exec-stranger');
    stranger.executionDetails.serviceArn = 'arn:aws:ecs:us-east-1:123456789012:service/other/svc';
    expect(await hook()(stranger, lambdaContext())).toEqual({ hookStatus: 'FAILED' });
  });
});

describe('backup alarms', () => {
  it('are told to people once per state change and change nothing else', async () => {
    const config = configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      databases: { 'shop-db': { rdsInstance: 'shop-prod' } },
    });
    const handler = makeAlarmState({
      responder: new AlarmResponder({
        config,
        stage: 'test',
        deployments,
        idempotency: dynamoDbIdempotency(documents, tableName),
        publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
        now: () => clock,
      }),
      deadLetters: sqsDeadLetters({ send: async () => ({}) } as never, 'https://sqs.us-east-1.amazonaws.com/1/dl'),
    });
    const event = alarmEvent('ALARM', 'OK', '2026-11-22T10:12:00.000+0000', 'slipway-test-shop-db-backup-stale');
    const first = await handler(event, lambdaContext());
    await handler(event, lambdaContext());
    expect(first).toEqual({
      handled: true,
      result: { alarm: 'slipway-test-shop-db-backup-stale', action: 'notify', reason: 'backup alarm of shop-db' },
    });
    const told = sns
      .commandCalls(PublishCommand)
      .filter((call) => call.args[0].input.MessageAttributes?.type?.StringValue === 'backup.alarm');
    expect(told).toHaveLength(1);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('name a volume or the dumps of a database too, and nothing that is not configured', async () => {
    const config = configSchema.parse({
      auth: { tokensSecret: 'slipway/api-tokens' },
      worker: {
        image: 'slipway-worker:1.0.0',
        subnetIds: ['subnet-0a1b2c3d4e5f60718'],
        securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
      },
      databases: { 'shop-db': { rdsInstance: 'shop-prod', dump: { credentialsSecret: 'slipway/shop-db-dump' } } },
      volumes: { 'shop-uploads': { fileSystemId: 'fs-0123456789abcdef0', accessPointId: 'fsap-0123456789abcdef0' } },
    });
    const handler = makeAlarmState({
      responder: new AlarmResponder({
        config,
        stage: 'test',
        deployments,
        idempotency: dynamoDbIdempotency(documents, tableName),
        publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
        now: () => clock,
      }),
      deadLetters: sqsDeadLetters({ send: async () => ({}) } as never, 'https://sqs.us-east-1.amazonaws.com/1/dl'),
    });
    const outcome = async (name: string) =>
      handler(alarmEvent('ALARM', 'OK', '2026-11-22T10:14:00.000+0000', name), lambdaContext());
    expect(await outcome('slipway-test-volume-shop-uploads-drill-overdue')).toMatchObject({
      result: { action: 'notify', reason: 'backup alarm of volume-shop-uploads' },
    });
    expect(await outcome('slipway-test-shop-db-dump-backup-stale')).toMatchObject({
      result: { action: 'notify', reason: 'backup alarm of shop-db-dump' },
    });
    expect(await outcome('slipway-test-volume-elsewhere-backup-stale')).not.toMatchObject({
      result: { reason: expect.stringContaining('backup alarm') },
    });
  });
});
