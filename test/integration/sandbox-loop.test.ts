import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { loadStageConfig } from '../../lib/config/load';
import { findResource } from '../../lib/local/definitions';
import { ensureStateTable } from '../../lib/local/provision';
import { printService, type ResolvedService } from '../../lib/local/serverless-cli';
import { type EmbeddedServer, startDynalite } from '../../lib/local/servers';
import { eventRulesOf, ManualClock, placeOfConfig, type Sandbox, startSandbox } from '../../lib/sandbox';
import { httpEvent, lambdaContext } from '../support/http';

/**
 * Slipway's loop against the sandbox, as `npm start -- --sandbox` will run it but in one process: the
 * functions' own handlers (their default wiring, stage sandbox), the state table in dynalite, ECS, ECR and
 * RDS in the sandbox, and every event the sandbox sends delivered to the function whose rule in
 * serverless.yml (as `serverless print` resolves it) matches it. A deployment asked for succeeds; a push of
 * a crashing image is released, fails and is rolled back by ECS; a promotion approved succeeds and is rolled
 * back by an alarm in its bake window; a snapshot becomes available and restores. Nothing is stubbed.
 */

const STAGE = 'sandbox';
const config = loadStageConfig(STAGE);
const clock = new ManualClock(Date.now());
const tokens = { deployer: mintToken(), approver: mintToken(), admin: mintToken() };

let work: string;
let dynamodb: EmbeddedServer;
let sandbox: Sandbox;
let service: ResolvedService;
const handlers = new Map<string, (event: unknown, context: unknown) => Promise<unknown>>();
const delivered: Array<{ functionName: string; detailType: string; outcome: unknown }> = [];

async function handlerOf(functionName: string) {
  const cached = handlers.get(functionName);
  if (cached) return cached;
  const [key, fn] =
    Object.entries(service.functions).find(
      ([name, each]) => (each.name ?? `${service.service}-${STAGE}-${name}`) === functionName,
    ) ?? [];
  if (!key || !fn) throw new Error(`no function ${functionName} in serverless.yml`);
  const module = (await import(`../../${fn.handler.replace(/\.handler$/, '')}.ts`)) as {
    handler: (event: unknown, context: unknown) => Promise<unknown>;
  };
  handlers.set(functionName, module.handler);
  return module.handler;
}

type HttpHandler = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
const sample = (name: string) => JSON.parse(readFileSync(`events/http.${name}.json`, 'utf8')) as APIGatewayProxyEventV2;

async function call(file: string, name: string, shape: Parameters<typeof httpEvent>[1]) {
  const { handler } = (await import(`../../functions/http/${file}.ts`)) as { handler: HttpHandler };
  const response = await handler(httpEvent(sample(name), shape), lambdaContext());
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

/**
 * Moves the sandbox's clock on by half seconds, never behind this machine's (which Slipway's records use),
 * delivering what it sends, until `done` holds (at most two simulated minutes).
 */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let step = 0; step < 240; step += 1) {
    const value = await read();
    if (done(value)) return value;
    clock.set(Math.max(clock.now() + 500, Date.now()));
    await sandbox.advance();
  }
  throw new Error(`still not done: ${JSON.stringify(await read())}`);
}

const deployment = (id: string) =>
  call('get-deployment', 'get-deployment', {
    token: tokens.deployer,
    path: `/v1/deployments/${id}`,
    pathParameters: { id },
  });
const history = (environment: string) =>
  call('list-deployments', 'list-deployments', {
    token: tokens.deployer,
    path: `/v1/apps/shop/environments/${environment}/deployments`,
    pathParameters: { app: 'shop', env: environment },
  });

/** Reads a backup or a restore over its GET route, moving the sandbox on, until it is AVAILABLE. */
const untilAvailable = (kind: 'backup' | 'restore', id: string) =>
  until(
    () =>
      call(`get-${kind}`, `get-${kind}`, { token: tokens.admin, path: `/v1/${kind}s/${id}`, pathParameters: { id } }),
    (read) => read.body[kind].status === 'AVAILABLE',
  );

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'slipway-sandbox-loop-'));
  service = await printService(STAGE, { backupBucket: `slipway-${STAGE}-backups` });
  dynamodb = await startDynalite(join(work, 'dynamodb'));
  await ensureStateTable(
    createDynamoDbClient({ AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint }),
    findResource(service.resources.Resources, 'StateTable', 'AWS::DynamoDB::Table'),
    () => undefined,
  );
  writeFileSync(
    join(work, 'tokens.json'),
    JSON.stringify({
      tokens: [
        { name: 'ci', sha256: hashToken(tokens.deployer), roles: ['deployer'] },
        { name: 'lead', sha256: hashToken(tokens.approver), roles: ['approver'] },
        { name: 'ops', sha256: hashToken(tokens.admin), roles: ['admin'] },
      ],
    }),
  );
  const { account, region } = placeOfConfig(config);
  sandbox = await startSandbox({
    stateDir: join(work, 'sandbox'),
    config,
    stage: STAGE,
    rules: eventRulesOf(
      { service: service.service, stage: STAGE, functions: service.functions },
      { partition: 'aws', region, account },
    ),
    deliver: async (functionName, event) => {
      const outcome = await (await handlerOf(functionName))(event, lambdaContext({ functionName }));
      delivered.push({ functionName, detailType: String(event['detail-type']), outcome });
    },
    clock,
    healthPort: 0,
  });
  // The functions' environment as serverless.yml sets it under npm start, ECS, ECR and RDS in the sandbox
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_ENDPOINT_URL')) delete process.env[key];
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_ECS: sandbox.endpoint,
    AWS_ENDPOINT_URL_ECR: sandbox.endpoint,
    AWS_ENDPOINT_URL_RDS: sandbox.endpoint,
    SLIPWAY_STAGE: STAGE,
    STATE_TABLE: `slipway-${STAGE}-state`,
    BACKUP_BUCKET: `slipway-${STAGE}-backups`,
    NOTIFICATIONS_TOPIC_ARN: '',
    DEAD_LETTER_QUEUE_URL: '',
    IS_OFFLINE: 'true',
    SLIPWAY_STATE_DIR: work,
  });
});

afterAll(async () => {
  await sandbox?.close();
  await dynamodb?.close();
  await rm(work, { recursive: true, force: true });
});

describe('Slipway against the sandbox', () => {
  it('deploys a tag on request, and records it SUCCEEDED from the ECS events', async () => {
    const requested = await call('create-deployment', 'create-deployment', {
      token: tokens.deployer,
      body: { app: 'shop', environment: 'staging', tag: 'develop-42' },
    });
    expect(requested.status).toBe(202);
    const id = requested.body.deployment.id as string;
    const done = await until(
      () => deployment(id),
      (read) => read.body.deployment.state !== 'IN_PROGRESS',
    );
    expect(done.body.deployment).toMatchObject({ state: 'SUCCEEDED', to: { tag: 'develop-42' } });
    expect(
      delivered.filter((each) => each.functionName === 'slipway-sandbox-ecsDeploymentState').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('releases a pushed develop-* tag; a crashing one fails, ECS rolls it back, and Slipway records why', async () => {
    // When an image that crashes is pushed
    await sandbox.push('shop', 'develop-43-crashloop');

    // Then staging's release policy deploys it, and the circuit breaker rolls it back
    const rolledBack = await until(
      () => history('staging'),
      (read) =>
        ['ROLLED_BACK', 'FAILED'].includes(read.body.deployments?.[0]?.state) &&
        read.body.deployments?.[0]?.to?.tag === 'develop-43-crashloop',
    );
    const [latest] = rolledBack.body.deployments;
    expect(latest).toMatchObject({ state: 'ROLLED_BACK', requestedBy: { name: 'ecr-push' } });
    const full = await deployment(latest.id);
    expect(full.body.deployment.failure.reason).toMatch(/circuit breaker|exited with 1/);
    expect(full.body.deployment.failure.stoppedTasks[0]).toMatchObject({
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'backend', exitCode: 1 }],
    });
  });

  it('promotes to production once approved, then rolls it back when its alarm fires in the bake window', async () => {
    const promoted = await call('promote-environment', 'promote-environment', {
      token: tokens.deployer,
      body: {},
    });
    expect(promoted.status).toBe(202);
    expect(promoted.body.deployment.state).toBe('PENDING_APPROVAL');
    const id = promoted.body.deployment.id as string;
    const approved = await call('approve-deployment', 'approve-deployment', {
      token: tokens.approver,
      path: `/v1/deployments/${id}/approve`,
      pathParameters: { id },
      body: {},
    });
    expect(approved.status).toBe(200);
    await until(
      () => deployment(id),
      (read) => read.body.deployment.state === 'SUCCEEDED',
    );

    // When production's availability alarm fires
    clock.set(Math.max(clock.now(), Date.now()));
    const { alarmName } = await sandbox.alarm('shop', 'production', 'ALARM');

    // Then Slipway rolls the promotion back, the rollback succeeds, and the alarm recovers
    const rolledBack = await until(
      () => history('production'),
      (read) => read.body.deployments?.[0]?.kind === 'rollback' && read.body.deployments[0].state === 'SUCCEEDED',
    );
    expect(rolledBack.body.deployments[0].requestedBy.name).toBe(`alarm:${alarmName}`);
    await until(
      async () => sandbox.state().alarms.find((alarm) => alarm.name === alarmName)?.value,
      (value) => value === 'OK',
    );
  });

  it('takes a snapshot that becomes AVAILABLE on RDS-EVENT-0042, and restores it into the source subnet group', async () => {
    const taken = await call('take-backup', 'take-backup', { token: tokens.admin, body: { database: 'shop-db' } });
    expect(taken.status).toBe(202);
    const backupId = taken.body.backup.id as string;
    await untilAvailable('backup', backupId);
    expect(
      delivered.some(
        (each) => each.functionName === 'slipway-sandbox-rdsEvent' && each.detailType === 'RDS DB Snapshot Event',
      ),
    ).toBe(true);

    const restore = await call('create-restore', 'create-restore', {
      token: tokens.admin,
      body: { database: 'shop-db', backupId, targetIdentifier: 'shop-db-restore-1' },
    });
    expect(restore.status).toBe(202);
    const restoreId = restore.body.restore.id as string;
    await untilAvailable('restore', restoreId);
    const rds = createRdsClient({ AWS_ENDPOINT_URL_RDS: sandbox.endpoint });
    const [restored] =
      (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'shop-db-restore-1' }))).DBInstances ?? [];
    expect(restored?.DBSubnetGroup?.DBSubnetGroupName).toBe('shop-db-subnets');
    expect((restored?.TagList ?? []).map((tag) => tag.Key)).toContain('slipway:restore-id');
  });

  it('leaves nothing undelivered, and no event any function refused', () => {
    expect(sandbox.state().outbox).toEqual([]);
    for (const each of delivered)
      expect({ functionName: each.functionName, outcome: each.outcome }).not.toMatchObject({
        outcome: { handled: false },
      });
  });
});
