import { readFileSync } from 'node:fs';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  AccessDeniedException,
  DeregisterTaskDefinitionCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { jest } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { makeHandler as makeApprove } from '../../functions/http/approve-deployment';
import { makeHandler as makeCancel } from '../../functions/http/cancel-deployment';
import { makeHandler as makeCreate } from '../../functions/http/create-deployment';
import { makeHandler as makeGetDeployment } from '../../functions/http/get-deployment';
import { makeHandler as makeGetEnvironment } from '../../functions/http/get-environment';
import { makeHandler as makeListApps } from '../../functions/http/list-apps';
import { makeHandler as makeListDeployments } from '../../functions/http/list-deployments';
import { makeHandler as makePromote } from '../../functions/http/promote-environment';
import { makeHandler as makeRollback } from '../../functions/http/rollback-environment';
import { makeHandler as makeScale } from '../../functions/http/scale-environment';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { configSchema } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import { ecsDeploymentEvent } from '../../lib/deploy/outcome';
import type { DeploymentRecord } from '../../lib/deploy/records';
import { regionTemplate } from '../../lib/events/region-template';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { snsPublisher } from '../../lib/notify/publisher';
import { metrics } from '../../lib/observability';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { auditOn } from '../support/audit';
import { digest, type FakeAws, fakeAws, HOME, REPOSITORY } from '../support/fake-ecs';
import { httpEvent, lambdaContext, memoryTokenSource } from '../support/http';
import { captureLogs } from '../support/logs';
import { createStateTable } from '../support/resources';

const TABLE = 'slipway-deployments-test';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:slipway-test-notifications';

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  apps: {
    shop: {
      repository: REPOSITORY,
      containers: ['backend'],
      environments: {
        staging: { cluster: 'shop-staging', service: 'backend' },
        production: {
          cluster: 'shop-prod',
          service: 'backend',
          approvals: 2,
          promoteFrom: 'staging',
          alarms: ['shop-production-availability'],
          health: [{ url: 'https://shop.example.com/health/ready' }],
          maxDesiredCount: 6,
        },
      },
    },
  },
});

let dynamodb: EmbeddedServer;
let documents: DynamoDBDocumentClient;
let dynamoClient: ReturnType<typeof createDynamoDbClient>;
let aws: FakeAws;
const mockSns = () => mockClient(SNSClient);
let sns: ReturnType<typeof mockSns>;
let clock: Date;
let tableCounter = 0;
let deployments: Deployments;
let store: DeploymentStore;
let locks: EnvironmentLocks;
let trail: ReturnType<typeof auditOn>;

const tokens = memoryTokenSource();
const alice = tokens.add('alice', ['deployer']);
const bob = tokens.add('bob', ['approver']);
const carol = tokens.add('carol', ['approver']);
const dave = tokens.add('dave', ['deployer', 'approver']);

beforeAll(async () => {
  dynamodb = await startDynalite(undefined);
  dynamoClient = createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, AWS_REGION: 'us-east-1' });
  documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(() => dynamodb.close());

// Each test gets its own table, so locks and histories never leak between tests.
beforeEach(async () => {
  tableCounter += 1;
  const tableName = `${TABLE}-${tableCounter}`;
  await createStateTable(dynamoClient, tableName);
  aws = fakeAws();
  sns = mockSns();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  clock = new Date('2026-11-23T10:00:00.000Z');
  store = new DeploymentStore(documents, tableName);
  locks = new EnvironmentLocks(documents, tableName);
  trail = auditOn(documents, tableName, () => clock);
  let ids = 0;
  deployments = deploymentsWith(config, () => {
    ids += 1;
    return `dep-00000000-0000-4000-8000-${String(ids).padStart(12, '0')}`;
  });
  routes = buildRoutes(tableName);
});

/** The use case on this test's table, with ECS, ECR and SNS faked, and the test's clock and audit trail. */
function deploymentsWith(withConfig: typeof config, newId?: () => string) {
  return new Deployments({
    config: withConfig,
    stage: 'test',
    store,
    locks,
    ecsFor: () => new ECSClient({ region: 'us-east-1' }),
    ecrFor: (region) => new ECRClient({ region }),
    publisher: snsPublisher(new SNSClient({ region: 'us-east-1' }), TOPIC),
    audit: trail.audit,
    now: () => clock,
    ...(newId ? { newId } : {}),
  });
}

/** The use case with staging's settings extended by `staging`. */
function deploymentsWithStaging(staging: Record<string, unknown>) {
  const environments = config.apps.shop?.environments;
  return deploymentsWith(
    configSchema.parse({
      ...config,
      apps: {
        shop: {
          ...config.apps.shop,
          environments: { ...environments, staging: { ...environments?.staging, ...staging } },
        },
      },
    }),
  );
}

afterEach(() => {
  aws.restore();
  sns.restore();
  jest.restoreAllMocks();
});

let routes: ReturnType<typeof buildRoutes>;
function buildRoutes(tableName: string) {
  const deps = {
    tokens: tokens.source,
    audit: trail.audit,
    deployments,
    idempotency: dynamoDbIdempotency(documents, tableName),
  };
  return {
    create: makeCreate(deps),
    get: makeGetDeployment(deps),
    approve: makeApprove(deps),
    cancel: makeCancel(deps),
    environment: makeGetEnvironment(deps),
    history: makeListDeployments(deps),
    apps: makeListApps(deps),
    rollback: makeRollback(deps),
    promote: makePromote(deps),
    scale: makeScale(deps),
  };
}

function parsed(response: APIGatewayProxyStructuredResultV2) {
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

const post = (
  path: string,
  routeKey: string,
  token: string,
  body: unknown,
  extra: Parameters<typeof httpEvent>[1] = {},
) => httpEvent('not-found', { method: 'POST', path, routeKey, token, body, ...extra });

async function deploy(body: Record<string, unknown>, token = alice, headers: Record<string, string> = {}) {
  const response = await routes.create(
    post('/v1/deployments', 'POST /v1/deployments', token, body, { headers }),
    lambdaContext(),
  );
  return parsed(response);
}

async function envOperation(
  operation: 'rollback' | 'promote' | 'scale',
  environment: string,
  body: unknown = {},
  token = alice,
) {
  const path = `/v1/apps/shop/environments/${environment}/${operation}`;
  const event = post(path, `POST /v1/apps/{app}/environments/{env}/${operation}`, token, body, {
    pathParameters: { app: 'shop', env: environment },
  });
  return parsed(await routes[operation](event, lambdaContext()));
}

async function decide(id: string, action: 'approve' | 'cancel', token: string) {
  const event = post(`/v1/deployments/${id}/${action}`, `POST /v1/deployments/{id}/${action}`, token, undefined, {
    pathParameters: { id },
  });
  return parsed(await routes[action](event, lambdaContext()));
}

const ecsEvent = (event: unknown) => deployments.onEcsEvent(ecsDeploymentEvent.parse(event), HOME);
const sampleEvent = (name: string) => ecsDeploymentEvent.parse(JSON.parse(readFileSync(`events/${name}.json`, 'utf8')));

/** A deployment Slipway started at the clock's time, in flight as `ecsDeploymentId`, holding the environment's lock. */
async function rollingOut(
  environment: 'staging' | 'production',
  ecs: { ecsDeploymentId: string; replacing: string; serviceDeploymentArn?: string },
): Promise<DeploymentRecord> {
  const at = clock.toISOString();
  const id = `dep-${environment}-${ecs.ecsDeploymentId.split('/')[1]}`;
  const cluster = environment === 'staging' ? 'shop-staging' : 'shop-prod';
  const running = aws.service(cluster).taskDefinition;
  const record: DeploymentRecord = {
    id,
    app: 'shop',
    environment,
    kind: 'restart',
    state: 'IN_PROGRESS',
    requestedBy: { name: 'alice', kind: 'token' },
    createdAt: at,
    updatedAt: at,
    cluster,
    service: 'backend',
    from: { taskDefinitionArn: running, images: {}, ecsDeploymentId: ecs.replacing },
    to: { taskDefinitionArn: running, images: {}, forceNewDeployment: true },
    registeredTaskDefinition: false,
    ecsDeploymentId: ecs.ecsDeploymentId,
    ...(ecs.serviceDeploymentArn ? { serviceDeploymentArn: ecs.serviceDeploymentArn } : {}),
    approvals: { required: 0, by: [] },
    timeline: [
      { state: 'REQUESTED', at, by: 'alice' },
      { state: 'IN_PROGRESS', at },
    ],
  };
  await locks.acquire({ app: 'shop', environment, deploymentId: id, acquiredAt: at });
  await store.create(record);
  return record;
}

const published = () =>
  sns.commandCalls(PublishCommand).map((call) => ({
    state: call.args[0].input.MessageAttributes?.state?.StringValue,
    app: call.args[0].input.MessageAttributes?.app?.StringValue,
    environment: call.args[0].input.MessageAttributes?.environment?.StringValue,
  }));

describe('deploying an image through the HTTP API', () => {
  it('resolves the tag, registers a revision pinned by digest and starts a rolling update with the circuit breaker', async () => {
    // Given staging runs revision 41 of shop-backend
    // When alice deploys tag 1.5.0
    const { status, body } = await deploy({
      app: 'shop',
      environment: 'staging',
      tag: '1.5.0',
      reason: 'release 1.5.0',
    });

    // Then the tag was resolved once, in the repository's own registry
    expect(status).toBe(202);
    expect(aws.ecr.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input)).toEqual([
      { registryId: '123456789012', repositoryName: 'shop-backend', imageIds: [{ imageTag: '1.5.0' }] },
    ]);
    // And the revision was built from the running one, with the image pinned by digest
    expect(aws.ecs.commandCalls(DescribeServicesCommand).map((call) => call.args[0].input)).toEqual([
      { cluster: 'shop-staging', services: ['backend'] },
    ]);
    const running = 'arn:aws:ecs:us-east-1:123456789012:task-definition/shop-backend:41';
    expect(aws.ecs.commandCalls(DescribeTaskDefinitionCommand).map((call) => call.args[0].input)).toEqual([
      { taskDefinition: running, include: ['TAGS'] },
    ]);
    const registered = aws.ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input;
    expect(registered?.containerDefinitions?.[0]?.image).toBe(`${REPOSITORY}@${digest('b')}`);
    expect(registered?.tags).toEqual([
      { key: 'app', value: 'shop' },
      { key: 'slipway:managed', value: 'true' },
    ]);
    // And UpdateService kept the service's own settings and turned on the circuit breaker with rollback
    const newRevision = aws.service('shop-staging').taskDefinition;
    expect(aws.ecs.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
      {
        cluster: 'shop-staging',
        service: 'backend',
        taskDefinition: newRevision,
        deploymentConfiguration: {
          deploymentCircuitBreaker: { enable: true, rollback: true },
          maximumPercent: 200,
          minimumHealthyPercent: 100,
        },
      },
    ]);
    // And the record holds who, why, from → to and the PRIMARY ECS deployment
    const primary = aws.service('shop-staging').deployments[0]?.id;
    expect(body.deployment).toMatchObject({
      app: 'shop',
      environment: 'staging',
      kind: 'deploy',
      state: 'IN_PROGRESS',
      requestedBy: { name: 'alice', kind: 'token' },
      reason: 'release 1.5.0',
      from: { taskDefinitionArn: running, digest: digest('1'), ecsDeploymentId: 'ecs-svc/1001' },
      to: { taskDefinitionArn: newRevision, digest: digest('b'), tag: '1.5.0' },
      ecsDeploymentId: primary,
      registeredTaskDefinition: true,
    });
    expect(body.deployment.timeline.map((entry: { state: string }) => entry.state)).toEqual([
      'REQUESTED',
      'IN_PROGRESS',
    ]);
    // And five ECS/ECR calls were all it took
    expect(aws.ecs.calls().length + aws.ecr.calls().length).toBe(5);
  });

  it('passes the environment alarms and those generated from its health checks to UpdateService', async () => {
    // Given production has an alarm and a health check, and a restart needs no approval
    // When alice restarts it
    await deployments.request({
      app: 'shop',
      environment: 'production',
      target: { kind: 'restart' },
      requestedBy: { name: 'alice', kind: 'token' },
    });
    // Then UpdateService asks for new tasks with the circuit breaker and the alarm, both rolling back
    expect(aws.ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'shop-prod',
      service: 'backend',
      forceNewDeployment: true,
      deploymentConfiguration: {
        deploymentCircuitBreaker: { enable: true, rollback: true },
        alarms: {
          alarmNames: [
            'shop-production-availability',
            'slipway-test-shop-production-availability',
            'slipway-test-shop-production-latency',
          ],
          enable: true,
          rollback: true,
        },
        maximumPercent: 200,
        minimumHealthyPercent: 100,
      },
    });
  });

  it('hands a service in another region of the control plane’s account the alarms that region’s stack makes of it', async () => {
    // Given staging in eu-central-1 of the control plane's account, with a health check and an alarm of its own
    const inFrankfurt = deploymentsWithStaging({
      region: 'eu-central-1',
      health: [{ url: 'https://staging.shop.example.com/health' }],
      alarms: ['shop-staging-5xx'],
    });

    // When alice restarts it
    await inFrankfurt.request({
      app: 'shop',
      environment: 'staging',
      target: { kind: 'restart' },
      requestedBy: { name: 'alice', kind: 'token' },
    });

    // Then UpdateService gets its own alarm and the health alarms eu-central-1's stack makes, by the same names: ECS
    // looks them up by name in the service's region (ECS API Reference, DeploymentAlarms)
    const regional = regionTemplate({
      config: configSchema.parse({
        ...config,
        apps: {
          shop: {
            ...config.apps.shop,
            environments: {
              staging: {
                cluster: 'shop-staging',
                service: 'backend',
                region: 'eu-central-1',
                health: [{ url: 'https://staging.shop.example.com/health' }],
              },
            },
          },
        },
      }),
      stage: 'test',
      service: 'slipway',
      controlPlaneRegion: 'us-east-1',
      region: 'eu-central-1',
    }) as { Resources: Record<string, { Type: string; Properties: { AlarmName?: string } }> };
    const made = Object.values(regional.Resources)
      .filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm')
      .map((resource) => resource.Properties.AlarmName);
    expect(made).toEqual(['slipway-test-shop-staging-availability', 'slipway-test-shop-staging-latency']);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input.deploymentConfiguration?.alarms).toEqual({
      alarmNames: ['shop-staging-5xx', ...made],
      enable: true,
      rollback: true,
    });
  });

  it.each([
    [{ app: 'nope', environment: 'staging', tag: '1.5.0' }, 404, 'no app named nope'],
    [{ app: 'shop', environment: 'qa', tag: '1.5.0' }, 404, 'app shop has no environment named qa'],
    [{ app: 'shop', environment: 'staging' }, 400, 'body.tag: is required: give exactly one of tag or digest'],
    [
      { app: 'shop', environment: 'staging', tag: '1.5.0', digest: digest('b') },
      400,
      'body.digest: give exactly one of tag or digest, not both',
    ],
    [{ app: 'shop', environment: 'staging', tag: '9.9.9' }, 422, 'repository shop-backend has no image with tag 9.9.9'],
  ])('refuses %j with %i', async (request, status, message) => {
    const response = await deploy(request);
    expect(response).toEqual({ status, body: { error: expect.objectContaining({ message }) } });
    expect(aws.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('refuses a revision with a role passRoles does not list, before registering anything, and passes listed ones', async () => {
    // Given staging lists its task role but not the execution role the running revision also has
    const TASK_ROLE = 'arn:aws:iam::123456789012:role/shop-backend-task';
    const EXECUTION_ROLE = 'arn:aws:iam::123456789012:role/shop-backend-execution';
    const withRoles = (passRoles: string[]) => deploymentsWithStaging({ passRoles });
    const request = {
      app: 'shop',
      environment: 'staging',
      target: { kind: 'deploy' as const, tag: '1.5.0' },
      requestedBy: { name: 'alice', kind: 'token' as const },
    };

    // When a deploy is asked for, then it is refused naming the role, nothing is registered, and the lock is free
    await expect(withRoles([TASK_ROLE]).request(request)).rejects.toMatchObject({
      status: 422,
      message: `the running task definition uses ${EXECUTION_ROLE}, which passRoles of this environment does not list; Slipway may not pass it to ECS`,
    });
    expect(aws.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(await locks.holder('shop', 'staging')).toBeUndefined();

    // And with both roles listed the same deploy registers its revision with them
    const outcome = await withRoles([TASK_ROLE, EXECUTION_ROLE]).request(request);
    expect(outcome.dryRun).toBe(false);
    expect(aws.ecs.commandCalls(RegisterTaskDefinitionCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({ taskRoleArn: TASK_ROLE, executionRoleArn: EXECUTION_ROLE }),
    ]);
  });

  it('refuses a blue/green service whose lifecycle hooks name a role lifecycleHookRoles does not list, before registering anything', async () => {
    // Given staging's service has an ECS lifecycle hook whose role ECS must be passed on UpdateService
    // (ECS API Reference, DeploymentLifecycleHook roleArn), and staging lists no hook roles
    const HOOK_ROLE = 'arn:aws:iam::123456789012:role/shop-staging-lifecycle-hook';
    const hooks = [
      {
        hookTargetArn: 'arn:aws:lambda:us-east-1:123456789012:function:slipway-prod-ecsLifecycleHook',
        roleArn: HOOK_ROLE,
        lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT' as const],
      },
    ];
    aws.service('shop-staging').deploymentConfiguration = {
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 5,
      maximumPercent: 200,
      minimumHealthyPercent: 100,
      lifecycleHooks: hooks,
    };
    const withHookRoles = (lifecycleHookRoles?: string[]) =>
      deploymentsWithStaging(lifecycleHookRoles ? { lifecycleHookRoles } : {});

    // When a deploy and a restart are asked for, then both are refused naming the role, with nothing registered or
    // updated, no record and the lock free
    const refusal = {
      status: 422,
      code: 'UNPROCESSABLE',
      message: `the service's ECS lifecycle hooks name ${HOOK_ROLE}, which lifecycleHookRoles of this environment does not list; Slipway may not pass it to ECS`,
      details: { roles: [HOOK_ROLE], lifecycleHookRoles: [] },
    };
    const response = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    expect(response).toEqual({
      status: 422,
      body: { error: { code: refusal.code, message: refusal.message, details: refusal.details } },
    });
    await expect(
      withHookRoles(['arn:aws:iam::123456789012:role/another-hook']).request({
        app: 'shop',
        environment: 'staging',
        target: { kind: 'restart' },
        requestedBy: { name: 'alice', kind: 'token' },
      }),
    ).rejects.toMatchObject({
      ...refusal,
      details: { roles: [HOOK_ROLE], lifecycleHookRoles: ['arn:aws:iam::123456789012:role/another-hook'] },
    });
    expect(aws.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(await locks.holder('shop', 'staging')).toBeUndefined();
    expect((await store.history('shop', 'staging')).items).toEqual([]);

    // And a scale, which sends no deploymentConfiguration, passes no role and goes through
    const scaled = await withHookRoles().request({
      app: 'shop',
      environment: 'staging',
      target: { kind: 'scale', desiredCount: 3 },
      requestedBy: { name: 'alice', kind: 'token' },
    });
    expect(scaled.dryRun === false && scaled.deployment.state).toBe('SUCCEEDED');

    // And with the role listed, the deploy sends the hooks back as the service has them
    const listed = await withHookRoles([HOOK_ROLE]).request({
      app: 'shop',
      environment: 'staging',
      target: { kind: 'deploy', tag: '1.5.0' },
      requestedBy: { name: 'alice', kind: 'token' },
    });
    expect(listed.dryRun === false && listed.deployment.state).toBe('IN_PROGRESS');
    expect(aws.ecs.commandCalls(UpdateServiceCommand).at(-1)?.args[0].input.deploymentConfiguration).toMatchObject({
      strategy: 'BLUE_GREEN',
      lifecycleHooks: hooks,
    });
  });

  it.each(['CODE_DEPLOY', 'EXTERNAL'] as const)(
    'refuses a service whose deployments %s controls, and releases the lock',
    async (controller) => {
      aws.restore();
      aws = fakeAws({ controller });
      const response = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
      expect(response.status).toBe(409);
      expect(response.body.error.message).toBe(
        `service backend uses the ${controller} deployment controller; Slipway deploys only services with the ECS (rolling update) controller`,
      );
      expect(await locks.holder('shop', 'staging')).toBeUndefined();
      expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    },
  );

  it('deregisters the revision it registered when ECS refuses the update, and records nothing', async () => {
    aws.ecs.on(UpdateServiceCommand).rejects(
      Object.assign(new Error('Task definition does not support launch_type FARGATE.'), {
        name: 'InvalidParameterException',
        $fault: 'client',
      }),
    );
    const response = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    expect(response.status).toBe(422);
    expect(response.body.error.message).toBe(
      'ECS refused UpdateService: Task definition does not support launch_type FARGATE.',
    );
    const registered = aws.ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.returnValue;
    const arn = (await registered)?.taskDefinition?.taskDefinitionArn;
    expect(aws.ecs.commandCalls(DeregisterTaskDefinitionCommand).map((call) => call.args[0].input)).toEqual([
      { taskDefinition: arn },
    ]);
    expect(await locks.holder('shop', 'staging')).toBeUndefined();
    expect((await store.history('shop', 'staging')).items).toEqual([]);
  });

  it('answers a dry run with the plan and changes nothing', async () => {
    const { status, body } = await deploy({
      app: 'shop',
      environment: 'production',
      digest: digest('c'),
      dryRun: true,
    });
    expect(status).toBe(200);
    expect(body.plan).toMatchObject({
      kind: 'deploy',
      approvalsRequired: 2,
      changes: [
        {
          container: 'backend',
          from: `${REPOSITORY}@${digest('1')}`,
          to: `${REPOSITORY}@${digest('c')}`,
        },
      ],
      taskDefinition: { registers: true, fieldsChanged: ['containerDefinitions.backend.image'] },
      updateService: { cluster: 'shop-prod', service: 'backend', taskDefinition: '<registered revision>' },
    });
    expect(aws.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(await locks.holder('shop', 'production')).toBeUndefined();
    expect((await store.history('shop', 'production')).items).toEqual([]);
  });

  it('shows a deployer the fields a dry run would change, never an environment value or a secret reference, in the answer or the logs', async () => {
    // Given the running revision holds a plaintext value in its environment, and secrets by reference
    const running = [...aws.taskDefinitions.values()][0]?.taskDefinition;
    const backend = running?.containerDefinitions?.[0];
    backend?.environment?.push({ name: 'PAYMENTS_API_KEY', value: 'pk_live_51Hx7PlainTextValue' });
    const secretReferences = (backend?.secrets ?? []).map((secret) => secret.valueFrom as string);
    expect(secretReferences).toHaveLength(2);

    // When a deployer plans a deploy by tag and one by digest
    const { result, output } = await captureLogs(async () => [
      await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0', dryRun: true }),
      await deploy({ app: 'shop', environment: 'production', digest: digest('c'), dryRun: true }),
    ]);

    // Then each plan names the field that changes, and no value of the environment or secrets is anywhere
    for (const { status, body } of result) {
      expect(status).toBe(200);
      const answered = JSON.stringify(body);
      for (const hidden of ['pk_live_51Hx7PlainTextValue', ...secretReferences]) {
        expect(answered).not.toContain(hidden);
      }
      expect(body.plan.taskDefinition).toEqual({
        registers: true,
        fieldsChanged: ['containerDefinitions.backend.image'],
      });
    }
    expect(output).not.toContain('pk_live_51Hx7PlainTextValue');
    for (const reference of secretReferences) expect(output).not.toContain(reference);
  });
});

describe('the outcome of a deployment', () => {
  it('succeeds on SERVICE_DEPLOYMENT_COMPLETED for its ECS deployment, releases the lock and shows in history', async () => {
    // Given a deployment in progress
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    const id = body.deployment.id;

    // When ECS reports that deployment completed
    const outcome = await ecsEvent(aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED'));

    // Then the record succeeded, the lock is free and the history lists it first
    expect(outcome).toEqual({ applied: true, reason: 'IN_PROGRESS → SUCCEEDED', deploymentId: id });
    expect(await locks.holder('shop', 'staging')).toBeUndefined();
    const history = await routes.history(
      httpEvent('not-found', {
        method: 'GET',
        path: '/v1/apps/shop/environments/staging/deployments',
        routeKey: 'GET /v1/apps/{app}/environments/{env}/deployments',
        pathParameters: { app: 'shop', env: 'staging' },
        token: bob,
      }),
      lambdaContext(),
    );
    expect(parsed(history).body.deployments.map((record: DeploymentRecord) => [record.id, record.state])).toEqual([
      [id, 'SUCCEEDED'],
    ]);
    // And each state change was published with attributes subscribers filter on
    expect(published()).toEqual([
      { state: 'IN_PROGRESS', app: 'shop', environment: 'staging' },
      { state: 'SUCCEEDED', app: 'shop', environment: 'staging' },
    ]);
  });

  it('records FAILED with the reason when ECS reports the deployment failed', async () => {
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    await ecsEvent(
      aws.event('shop-staging', 'SERVICE_DEPLOYMENT_FAILED', {
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
      }),
    );
    const record = await deployments.get(body.deployment.id);
    expect(record.state).toBe('FAILED');
    expect(record.failure?.reason).toBe('ECS deployment circuit breaker: tasks failed to start.');
    expect(await locks.holder('shop', 'staging')).toBeUndefined();
  });

  it('is ROLLED_BACK when the circuit breaker rolls it back, whichever of the two events comes first', async () => {
    for (const order of ['failed-first', 'rollback-first'] as const) {
      const environment = 'staging';
      aws.restore();
      aws = fakeAws();
      const { body } = await deploy({ app: 'shop', environment, tag: order === 'failed-first' ? '1.5.0' : '1.6.0' });
      const { failed, rollback } = aws.rollBack(
        'shop-staging',
        order === 'failed-first' ? '2026-11-23T10:07:00Z' : '2026-11-23T11:07:00Z',
      );
      const events = order === 'failed-first' ? [failed, rollback] : [rollback, failed];
      for (const event of events) await ecsEvent(event);
      // And the rollback deployment completing later does not make it a success
      await ecsEvent(aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: '2026-11-23T12:00:00Z' }));
      const record = await deployments.get(body.deployment.id);
      expect({ order, state: record.state }).toEqual({ order, state: 'ROLLED_BACK' });
    }
  });

  it('applies the same event delivered five times, and an older one after it, exactly once', async () => {
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    const completed = aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: '2026-11-23T10:09:00Z' });
    const older = aws.event('shop-staging', 'SERVICE_DEPLOYMENT_FAILED', { updatedAt: '2026-11-23T10:08:00Z' });
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => ecsEvent(completed)));
    const late = await ecsEvent(older);
    expect(outcomes.filter((outcome) => outcome.applied)).toHaveLength(1);
    expect(late.applied).toBe(false);
    const record = await deployments.get(body.deployment.id);
    expect(record.state).toBe('SUCCEEDED');
    expect(record.timeline.filter((entry) => entry.state === 'SUCCEEDED')).toHaveLength(1);
    expect(published().filter((message) => message.state === 'SUCCEEDED')).toHaveLength(1);
  });

  it('is ROLLED_BACK when the circuit breaker fails it and starts the rollback in the same second, once however often ECS delivers', async () => {
    // Given production rolls out ECS deployment ecs-svc/4815162342081516234 over ecs-svc/1234567890123456789 (the samples' story)
    const record = await rollingOut('production', {
      ecsDeploymentId: 'ecs-svc/4815162342081516234',
      replacing: 'ecs-svc/1234567890123456789',
    });
    const failed = sampleEvent('ecs.deployment-failed.circuit-breaker');
    const rollback = sampleEvent('ecs.deployment-rollback.same-second');
    expect(failed.detail.updatedAt).toBe(rollback.detail.updatedAt);

    // When ECS reports the failure, then the rollback it started in the same second
    const outcomes = [await ecsEvent(failed), await ecsEvent(rollback)];

    // Then both apply: FAILED, then ROLLED_BACK
    expect(outcomes).toEqual([
      { applied: true, reason: 'IN_PROGRESS → FAILED', deploymentId: record.id },
      { applied: true, reason: 'FAILED → ROLLED_BACK', deploymentId: record.id },
    ]);
    // And each delivered again, in either order, changes nothing
    for (const again of [rollback, failed, rollback]) expect((await ecsEvent(again)).applied).toBe(false);
    const final = await deployments.get(record.id);
    expect(final.state).toBe('ROLLED_BACK');
    expect(final.timeline.map((entry) => entry.state)).toEqual(['REQUESTED', 'IN_PROGRESS', 'FAILED', 'ROLLED_BACK']);
    expect(await locks.holder('shop', 'production')).toBeUndefined();
  });

  it('ignores events for ECS deployments Slipway did not start', async () => {
    await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    const outcome = await ecsEvent(
      aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { deploymentId: 'ecs-svc/9999999999' }),
    );
    expect(outcome).toEqual({ applied: false, reason: 'no deployment in flight is ECS deployment ecs-svc/9999999999' });
  });
});

describe('the reconciler', () => {
  it('settles a deployment whose event never came from DescribeServiceDeployments, after ten minutes', async () => {
    // Given a deployment whose completion event was lost
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    const arn = body.deployment.serviceDeploymentArn;
    aws.serviceDeployments.set(arn, { serviceDeploymentArn: arn, status: 'SUCCESSFUL' });

    // When the reconciler runs five minutes later, it leaves it alone
    clock = new Date('2026-11-23T10:05:00.000Z');
    expect(await deployments.reconcile()).toEqual([]);

    // And when it runs at eleven minutes, it asks ECS and settles it
    clock = new Date('2026-11-23T10:11:00.000Z');
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'SUCCEEDED' }]);
    expect(aws.ecs.commandCalls(DescribeServiceDeploymentsCommand).map((call) => call.args[0].input)).toEqual([
      { serviceDeploymentArns: [arn] },
    ]);
    expect((await deployments.get(body.deployment.id)).state).toBe('SUCCEEDED');
    expect(await locks.holder('shop', 'staging')).toBeUndefined();
  });

  it('ends a deployment with no outcome after the limit as TIMED_OUT, releasing the lock', async () => {
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    clock = new Date('2026-11-23T10:30:00.000Z');
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'still in progress' }]);
    clock = new Date('2026-11-23T11:00:00.000Z');
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'TIMED_OUT' }]);
    expect(await locks.holder('shop', 'staging')).toBeUndefined();
    expect((await deployments.get(body.deployment.id)).state).toBe('TIMED_OUT');
    // And the audit trail has the request, by its principal, then the reconciler's decision
    expect(
      (await trail.entries()).map(({ actor, action, target, outcome }) => ({ actor, action, target, outcome })),
    ).toEqual([
      {
        actor: 'alice',
        action: 'createDeployment',
        target: { app: 'shop', environment: 'staging', tag: '1.5.0', deploymentId: body.deployment.id },
        outcome: { result: 'succeeded', status: 202, code: 'IN_PROGRESS' },
      },
      {
        actor: 'reconciler',
        action: 'deployment.timeout',
        target: { app: 'shop', environment: 'staging', deploymentId: body.deployment.id },
        outcome: { result: 'succeeded', code: 'TIMED_OUT', detail: 'no outcome from ECS after 60 minutes' },
      },
    ]);
  });
});

describe('the reconciler when ECS does not answer', () => {
  // ECS API Reference, DescribeServiceDeployments and DescribeServices, Errors: AccessDeniedException;
  // ECS API Reference, Common Errors: ThrottlingException (400) when the request rate is too high.
  const denied = (action: string) =>
    new AccessDeniedException({
      message: `User: arn:aws:sts::123456789012:assumed-role/slipway-prod-reconcile/slipway is not authorized to perform: ecs:${action}`,
      $metadata: { httpStatusCode: 400 },
    });
  const throttled = () =>
    Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: {} });

  /** Staging deployed at 10:00, and production restarted at 10:00, whose ECS deployment then SUCCEEDED. */
  async function twoInFlight() {
    const staging = (await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' })).body.deployment;
    const restarted = await deployments.request({
      app: 'shop',
      environment: 'production',
      target: { kind: 'restart' },
      requestedBy: { name: 'alice', kind: 'token' },
    });
    if (restarted.dryRun) throw new Error('not a dry run');
    const production = restarted.deployment;
    aws.serviceDeployments.set(production.serviceDeploymentArn as string, {
      serviceDeploymentArn: production.serviceDeploymentArn,
      status: 'SUCCESSFUL',
    });
    return { staging, production };
  }

  it.each([
    ['AccessDeniedException', () => denied('DescribeServiceDeployments'), () => denied('DescribeServices')],
    ['ThrottlingException', throttled, throttled],
    [
      'ServiceNotFoundException',
      () => Object.assign(new Error('Service not found.'), { name: 'ServiceNotFoundException', $metadata: {} }),
      () => Object.assign(new Error('Service not found.'), { name: 'ServiceNotFoundException', $metadata: {} }),
    ],
  ])(
    'times a deployment out when ECS answers %s, counts each failure, and still settles the other environment',
    async (why, serviceDeploymentsFault, servicesFault) => {
      // Given a staging deployment ECS cannot tell about, and a production one it can
      const { staging, production } = await twoInFlight();
      aws.ecs
        .on(DescribeServiceDeploymentsCommand, { serviceDeploymentArns: [staging.serviceDeploymentArn] })
        .rejects(serviceDeploymentsFault());
      aws.ecs.on(DescribeServicesCommand, { cluster: 'shop-staging' }).rejects(servicesFault());
      const addMetric = jest.spyOn(metrics, 'addMetric');

      // When the reconciler runs at eleven minutes
      clock = new Date('2026-11-23T10:11:00.000Z');
      const early = await deployments.reconcile();

      // Then production settles, staging stays in flight and both failed calls are counted
      expect(early).toEqual(
        expect.arrayContaining([
          { deploymentId: production.id, outcome: 'SUCCEEDED' },
          { deploymentId: staging.id, outcome: `still in progress; ECS could not tell (${why})` },
        ]),
      );
      expect(addMetric.mock.calls.filter(([name]) => name === 'ReconcilerEcsFailures')).toEqual([
        ['ReconcilerEcsFailures', 'Count', 1],
        ['ReconcilerEcsFailures', 'Count', 1],
      ]);
      expect(await locks.holder('shop', 'staging')).toBe(staging.id);

      // And at the timeout it ends TIMED_OUT and frees the environment, whatever ECS still answers
      clock = new Date('2026-11-23T11:00:00.000Z');
      expect(await deployments.reconcile()).toEqual([{ deploymentId: staging.id, outcome: 'TIMED_OUT' }]);
      const record = await deployments.get(staging.id);
      expect(record.state).toBe('TIMED_OUT');
      expect(record.timeline.at(-1)?.note).toBe(`no outcome from ECS after 60 minutes (last asked: ${why})`);
      expect(await locks.holder('shop', 'staging')).toBeUndefined();
    },
  );

  it('settles from DescribeServices when DescribeServiceDeployments is denied', async () => {
    // Given a deployment whose completion event was lost, and a role without ecs:DescribeServiceDeployments on it
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    aws.ecs.on(DescribeServiceDeploymentsCommand).rejects(denied('DescribeServiceDeployments'));
    const primary = aws.service('shop-staging').deployments[0] as { rolloutState?: string };
    primary.rolloutState = 'COMPLETED';

    // When the reconciler runs at eleven minutes
    clock = new Date('2026-11-23T10:11:00.000Z');

    // Then the service's deployment list settles it
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'SUCCEEDED' }]);
    expect(await locks.holder('shop', 'staging')).toBeUndefined();
  });
});

describe('approvals', () => {
  it('waits for two distinct approvers, never the requester, before anything touches ECS', async () => {
    // Given production needs two approvals
    const { status, body } = await deploy({ app: 'shop', environment: 'production', tag: '1.5.0' }, dave);
    expect(status).toBe(202);
    const id = body.deployment.id;
    expect(body.deployment).toMatchObject({
      state: 'PENDING_APPROVAL',
      approvals: { required: 2, deadline: '2026-11-24T10:00:00.000Z', by: [] },
      to: { digest: digest('b'), tag: '1.5.0' },
    });

    // When the requester tries to approve it
    const own = await decide(id, 'approve', dave);
    // Then it is refused
    expect(own.status).toBe(403);
    expect(own.body.error.message).toBe(`dave requested deployment ${id} and cannot approve it too`);

    // When bob approves, and again
    expect((await decide(id, 'approve', bob)).body.deployment.state).toBe('PENDING_APPROVAL');
    expect((await decide(id, 'approve', bob)).status).toBe(409);
    // Then nothing was registered or updated on ECS yet
    expect(aws.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);

    // When carol approves too, it starts
    const started = await decide(id, 'approve', carol);
    expect(started.status).toBe(200);
    expect(started.body.deployment).toMatchObject({
      state: 'IN_PROGRESS',
      approvals: { by: [{ by: 'bob' }, { by: 'carol' }] },
      to: { digest: digest('b') },
    });
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });

  it('ends an approved deployment ECS refuses to start as FAILED with the reason, frees the environment, and asks ECS about no task', async () => {
    // Given a deployment to production that bob has approved
    const { body } = await deploy({ app: 'shop', environment: 'production', tag: '1.5.0' }, dave);
    const id = body.deployment.id;
    await decide(id, 'approve', bob);
    // And ECS refuses the update
    aws.ecs.on(UpdateServiceCommand).rejects(
      Object.assign(new Error('Task definition does not support launch_type FARGATE.'), {
        name: 'InvalidParameterException',
        $fault: 'client',
      }),
    );

    // When carol's approval starts it
    const refused = await decide(id, 'approve', carol);

    // Then the caller hears why, and the record ends FAILED with that reason and nothing else to tell
    expect(refused.status).toBe(422);
    const reason = 'ECS refused UpdateService: Task definition does not support launch_type FARGATE.';
    expect(refused.body.error.message).toBe(reason);
    expect(await deployments.get(id)).toMatchObject({
      state: 'FAILED',
      failure: { reason, serviceEvents: [], stoppedTasks: [] },
    });
    expect(await locks.holder('shop', 'production')).toBeUndefined();
    expect(published().at(-1)).toEqual({ state: 'FAILED', app: 'shop', environment: 'production' });
    // And, as ECS never started it, no task was listed or described for a diagnosis
    expect(aws.ecs.commandCalls(ListTasksCommand)).toHaveLength(0);
    expect(aws.ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });

  it('expires a deployment nobody approved within the deadline, and frees the environment', async () => {
    const { body } = await deploy({ app: 'shop', environment: 'production', tag: '1.5.0' });
    clock = new Date('2026-11-24T10:00:01.000Z');
    const late = await decide(body.deployment.id, 'approve', bob);
    expect(late.status).toBe(409);
    expect(late.body.error.message).toContain('has expired');
    expect((await deployments.get(body.deployment.id)).state).toBe('EXPIRED');
    expect(await locks.holder('shop', 'production')).toBeUndefined();
  });

  it('times an approved deployment from its start, not from its request', async () => {
    // Given a deployment approved 50 minutes after it was requested
    const { body } = await deploy({ app: 'shop', environment: 'production', tag: '1.5.0' });
    clock = new Date('2026-11-23T10:50:00.000Z');
    await decide(body.deployment.id, 'approve', bob);
    await decide(body.deployment.id, 'approve', carol);

    // When the reconciler runs 5 and then 30 minutes after the start, it is left to run
    clock = new Date('2026-11-23T10:55:00.000Z');
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'recently started' }]);
    clock = new Date('2026-11-23T11:20:00.000Z');
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'still in progress' }]);

    // And it times out 60 minutes after the start
    clock = new Date('2026-11-23T11:50:00.000Z');
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'TIMED_OUT' }]);
  });

  it('expires it from the reconciler too', async () => {
    const { body } = await deploy({ app: 'shop', environment: 'production', tag: '1.5.0' });
    clock = new Date('2026-11-24T10:05:00.000Z');
    expect(await deployments.reconcile()).toEqual([{ deploymentId: body.deployment.id, outcome: 'EXPIRED' }]);
  });

  it('lets the requester cancel it, which releases the lock', async () => {
    const { body } = await deploy({ app: 'shop', environment: 'production', tag: '1.5.0' });
    expect((await deploy({ app: 'shop', environment: 'production', tag: '1.6.0' })).status).toBe(409);
    const cancelled = await decide(body.deployment.id, 'cancel', alice);
    expect(cancelled.body.deployment.state).toBe('CANCELLED');
    expect(await locks.holder('shop', 'production')).toBeUndefined();
    expect((await deploy({ app: 'shop', environment: 'production', tag: '1.6.0' })).status).toBe(202);
  });
});

describe('one deployment in flight per environment', () => {
  it('accepts exactly one of 50 concurrent requests; the 49 others get 409 naming it', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' })),
    );
    const accepted = responses.filter((response) => response.status === 202);
    const refused = responses.filter((response) => response.status === 409);
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    const winner = accepted[0]?.body.deployment.id;
    for (const response of refused) {
      expect(response.body.error).toEqual({
        code: 'CONFLICT',
        message: `shop/staging already has a deployment in flight: ${winner}`,
        details: { inFlight: winner },
      });
    }
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });
});

describe('Idempotency-Key', () => {
  it('returns the first deployment to a retried request instead of starting a second one', async () => {
    const request = { app: 'shop', environment: 'staging', tag: '1.5.0' };
    const first = await deploy(request, alice, { 'idempotency-key': 'ci-run-4711' });
    const retried = await deploy(request, alice, { 'idempotency-key': 'ci-run-4711' });
    expect(first.status).toBe(202);
    expect(retried).toEqual(first);
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);

    const different = await deploy({ ...request, tag: '1.6.0' }, alice, { 'idempotency-key': 'ci-run-4711' });
    expect(different.status).toBe(422);
    expect(different.body.error.message).toBe(
      'this Idempotency-Key was already used with a different request; use a new key',
    );
  });
});

describe('rollback, promote and scale', () => {
  async function deployAndComplete(environment: string, tag: string) {
    const { body } = await deploy({ app: 'shop', environment, tag });
    const cluster = environment === 'staging' ? 'shop-staging' : 'shop-prod';
    clock = new Date(clock.getTime() + 60_000);
    await ecsEvent(
      aws.event(cluster, 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: clock.toISOString().replace('.000Z', 'Z') }),
    );
    return body.deployment as DeploymentRecord;
  }

  it('rolls back to the revision recorded before the last successful deployment, then further back', async () => {
    // Given staging went 41 → v1.4.2 → v1.5.0, each successfully
    const first = await deployAndComplete('staging', '1.4.2');
    const second = await deployAndComplete('staging', '1.5.0');
    expect(second.from.taskDefinitionArn).toBe(first.to.taskDefinitionArn);

    // When alice rolls back
    const rolledBack = await envOperation('rollback', 'staging', { reason: 'errors after 1.5.0' });

    // Then UpdateService gets exactly the revision recorded as "from" of the last success: no new registration
    expect(rolledBack.status).toBe(202);
    expect(rolledBack.body.deployment).toMatchObject({
      kind: 'rollback',
      to: { taskDefinitionArn: first.to.taskDefinitionArn, digest: digest('a') },
      registeredTaskDefinition: false,
    });
    expect(aws.ecs.commandCalls(UpdateServiceCommand).at(-1)?.args[0].input.taskDefinition).toBe(
      first.to.taskDefinitionArn,
    );
    expect(aws.ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(2);

    // And once that rollback succeeded, the next rollback goes back to what ran before 1.4.2
    clock = new Date(clock.getTime() + 60_000);
    await ecsEvent(aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: clock.toISOString() }));
    const again = await envOperation('rollback', 'staging');
    expect(again.body.deployment.to.taskDefinitionArn).toBe(first.from.taskDefinitionArn);
  });

  it('refuses to roll back when no successful deployment introduced what runs', async () => {
    const response = await envOperation('rollback', 'staging');
    expect(response.status).toBe(409);
    expect(response.body.error.message).toContain('there is no recorded revision to roll back to');
  });

  it('promotes exactly the digest staging runs and last deployed successfully', async () => {
    await deployAndComplete('staging', '1.5.0');
    const response = await envOperation('promote', 'production', { reason: 'ship 1.5.0' });
    expect(response.status).toBe(202);
    expect(response.body.deployment).toMatchObject({
      kind: 'promote',
      state: 'PENDING_APPROVAL',
      to: { digest: digest('b') },
    });
  });

  it('refuses to promote when staging has no successful deployment', async () => {
    const response = await envOperation('promote', 'production');
    expect(response).toEqual({
      status: 409,
      body: {
        error: {
          code: 'CONFLICT',
          message: 'shop/staging has no successful deployment to promote',
          details: { source: 'staging', running: digest('1'), lastSuccessful: null },
        },
      },
    });
  });

  it('scales within the configured maximum, recorded like a deployment', async () => {
    const tooMany = await envOperation('scale', 'production', { desiredCount: 7 });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.message).toBe('desiredCount 7 is above the maximum of 6 configured for shop/production');
    const scaled = await envOperation('scale', 'production', { desiredCount: 4 });
    expect(scaled.body.deployment).toMatchObject({ kind: 'scale', state: 'SUCCEEDED', to: { desiredCount: 4 } });
    expect(aws.ecs.commandCalls(UpdateServiceCommand).at(-1)?.args[0].input).toEqual({
      cluster: 'shop-prod',
      service: 'backend',
      desiredCount: 4,
    });
    expect(await locks.holder('shop', 'production')).toBeUndefined();
  });
});

describe('keeping registered revisions', () => {
  it('keeps the newest it registered and any it may roll back to, and deregisters older ones it registered', async () => {
    // Given an environment that keeps two revisions, and five successful deploys
    const keepTwo = configSchema.parse({ ...config, deployments: { keepRevisions: 2 } });
    deployments = deploymentsWith(keepTwo);
    const original = aws.service('shop-staging').taskDefinition;
    const registered: string[] = [];
    const deployTag = async (tag: string) => {
      const outcome = await deployments.request({
        app: 'shop',
        environment: 'staging',
        target: { kind: 'deploy', tag },
        requestedBy: { name: 'alice', kind: 'token' },
      });
      if (outcome.dryRun) throw new Error('not a dry run');
      registered.push(outcome.deployment.to.taskDefinitionArn as string);
      clock = new Date(clock.getTime() + 60_000);
    };
    const stamp = () => clock.toISOString().replace('.000Z', 'Z');

    // Given an environment that keeps two revisions: 1.4.2 and 1.5.0 succeed, 1.6.0 is rolled back by ECS,
    // then 1.5.0 is deployed again over the revision 1.5.0 first ran on
    await deployTag('1.4.2');
    await ecsEvent(aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: stamp() }));
    await deployTag('1.5.0');
    await ecsEvent(aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: stamp() }));
    await deployTag('1.6.0');
    const { failed, rollback } = aws.rollBack('shop-staging', stamp());
    await ecsEvent(failed);
    await ecsEvent(rollback);
    await deployTag('1.5.0');
    await ecsEvent(aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: stamp() }));
    const [first, second, rolledBack, fourth] = registered;

    // Then the oldest it registered went, once; the second, older than the newest two, stays as the rollback target
    const deregistered = aws.ecs
      .commandCalls(DeregisterTaskDefinitionCommand)
      .map((call) => call.args[0].input.taskDefinition);
    expect(deregistered).toEqual([first]);
    expect(deregistered).not.toContain(original);
    for (const kept of [second, rolledBack, fourth]) {
      expect(aws.taskDefinitions.get(kept as string)?.taskDefinition.status).toBe('ACTIVE');
    }
    // And the record of the deployment that registered it says so
    const records = (await store.history('shop', 'staging')).items;
    expect(
      records.filter((record) => record.taskDefinitionDeregisteredAt).map((record) => record.to.taskDefinitionArn),
    ).toEqual([first]);
    // And a rollback now goes to that protected revision
    const back = await envOperation('rollback', 'staging');
    expect(back.body.deployment.to.taskDefinitionArn).toBe(second);
    // And the deregistration is in the audit trail, as Slipway's own action
    const pruned = (await trail.entries()).filter((entry) => entry.action === 'taskDefinition.deregister');
    expect(pruned).toEqual([
      expect.objectContaining({
        source: 'automatic',
        actor: 'revision-pruning',
        decision: 'allowed',
        target: expect.objectContaining({ app: 'shop', environment: 'staging', taskDefinition: first }),
      }),
    ]);
  });
});

describe('reads', () => {
  it("lists the apps, their environments and each one's last deployment", async () => {
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    const response = await routes.apps(
      httpEvent('not-found', { method: 'GET', path: '/v1/apps', routeKey: 'GET /v1/apps', token: bob }),
      lambdaContext(),
    );
    expect(parsed(response)).toEqual({
      status: 200,
      body: {
        apps: [
          {
            name: 'shop',
            repository: REPOSITORY,
            containers: ['backend'],
            environments: [
              {
                name: 'staging',
                cluster: 'shop-staging',
                service: 'backend',
                approvals: 0,
                lastDeployment: expect.objectContaining({
                  id: body.deployment.id,
                  state: 'IN_PROGRESS',
                  toDigest: digest('b'),
                }),
              },
              { name: 'production', cluster: 'shop-prod', service: 'backend', approvals: 2, promoteFrom: 'staging' },
            ],
          },
        ],
      },
    });
  });

  it('shows what an environment runs, its last deployment and the one in flight', async () => {
    const { body } = await deploy({ app: 'shop', environment: 'staging', tag: '1.5.0' });
    const response = await routes.environment(
      httpEvent('not-found', {
        method: 'GET',
        path: '/v1/apps/shop/environments/staging',
        routeKey: 'GET /v1/apps/{app}/environments/{env}',
        pathParameters: { app: 'shop', env: 'staging' },
        token: bob,
      }),
      lambdaContext(),
    );
    expect(parsed(response).body.environment).toMatchObject({
      app: 'shop',
      environment: 'staging',
      running: { images: { backend: `${REPOSITORY}@${digest('b')}` }, digest: digest('b'), desiredCount: 2 },
      lastDeployment: { id: body.deployment.id },
      inFlight: { id: body.deployment.id, state: 'IN_PROGRESS' },
    });
    const one = await routes.get(
      httpEvent('not-found', {
        method: 'GET',
        path: `/v1/deployments/${body.deployment.id}`,
        routeKey: 'GET /v1/deployments/{id}',
        pathParameters: { id: body.deployment.id },
        token: bob,
      }),
      lambdaContext(),
    );
    expect(parsed(one).body.deployment).toEqual(body.deployment);
  });

  it('pages history newest first with a cursor', async () => {
    for (const tag of ['1.4.2', '1.5.0', '1.6.0']) {
      const { body } = await deploy({ app: 'shop', environment: 'staging', tag });
      clock = new Date(clock.getTime() + 60_000);
      expect(body.deployment.state).toBe('IN_PROGRESS');
      await ecsEvent(aws.event('shop-staging', 'SERVICE_DEPLOYMENT_COMPLETED', { updatedAt: clock.toISOString() }));
    }
    const first = await store.history('shop', 'staging', { limit: 2 });
    expect(first.items.map((record) => record.to.tag)).toEqual(['1.6.0', '1.5.0']);
    const second = await store.history('shop', 'staging', { limit: 2, cursor: first.cursor });
    expect(second.items.map((record) => record.to.tag)).toEqual(['1.4.2']);
    await expect(store.history('shop', 'production', { cursor: first.cursor })).rejects.toThrow(
      'query.cursor: is not a cursor this listing returned',
    );
  });
});
