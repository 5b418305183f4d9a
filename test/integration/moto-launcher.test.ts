import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import type { DeploymentRecord } from '../../lib/deploy/records';
import type { TargetOutcome } from '../../lib/release/releases';
import { ecrPushEvent } from '../support/aws-events';
import { interrupt, killLaunchers, type Launched, startLauncherAt } from '../support/launcher';
import { motoEndpoint, resetMoto } from '../support/moto';
import {
  createNetwork,
  createRepository,
  createService,
  DEFAULT_DEPLOYMENT_CONFIGURATION,
  ec2Client,
  ecsDeploymentEvent,
  fixtureRegistration,
  pushImage,
  REGION,
  registerTaskDefinition,
} from '../support/moto-aws';

/**
 * `npm start` (stage local, config/local.yml) with AWS_ENDPOINT_URL at moto, as a user points it at
 * LocalStack: every service Slipway calls, the state table and the backup bucket included, is moto;
 * nothing is stubbed. Deployments are asked for over HTTP, and AWS's events reach the functions as
 * EventBridge delivers them, through serverless-offline's Lambda invoke endpoint.
 */

const REPOSITORY_NAME = 'shop-backend';
const REPOSITORY = `123456789012.dkr.ecr.${REGION}.amazonaws.com/${REPOSITORY_NAME}`;
const CLUSTER = 'shop-staging';
const SERVICE = 'backend';
const adminToken = mintToken();

let endpoint: string;
let stateDir: string;
let launcher: Launched;
let apiUrl: string;
let lambdaPort: number;
let running: { digest: string; taskDefinitionArn: string };
let candidate: string;

const awsEnv = () => ({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION });
const ecs = () => createEcsClient(awsEnv());
const ecr = () => createEcrClient(awsEnv());

interface Answer {
  status: number;
  body: { deployment: DeploymentRecord; deployments: DeploymentRecord[]; failing: string[] };
}

interface Invocation {
  handled: boolean;
  result: { applied: boolean; deploymentId: string; targets: TargetOutcome[] };
}

async function api(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** What EventBridge does with a matched event: invoke the function with it. */
async function deliver(functionName: string, event: unknown): Promise<Invocation> {
  const response = await fetch(
    `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/slipway-local-${functionName}/invocations`,
    { method: 'POST', body: JSON.stringify(event) },
  );
  expect(response.status).toBe(200);
  return (await response.json()) as Invocation;
}

async function describeStaging(): Promise<Service> {
  const { services } = await ecs().send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }));
  return services?.[0] as Service;
}

const revisions = async () =>
  (await ecs().send(new ListTaskDefinitionsCommand({ familyPrefix: 'shop-backend' }))).taskDefinitionArns ?? [];

beforeAll(async () => {
  // Given an AWS account (moto) with an ECR repository and the shop's staging and production services
  endpoint = motoEndpoint();
  await resetMoto(endpoint);
  await createRepository(ecr(), REPOSITORY_NAME);
  const runningDigest = await pushImage(ecr(), REPOSITORY_NAME, '1.4.2', 'running');
  candidate = await pushImage(ecr(), REPOSITORY_NAME, '1.5.0', 'candidate');
  const network = await createNetwork(ec2Client(awsEnv()), 'shop');
  const taskDefinitionArn = await registerTaskDefinition(ecs(), fixtureRegistration(`${REPOSITORY}@${runningDigest}`));
  running = { digest: runningDigest, taskDefinitionArn };
  for (const cluster of [CLUSTER, 'shop-prod']) {
    await createService(ecs(), { cluster, service: SERVICE, taskDefinitionArn, network });
  }

  // And `npm start` pointed at it, with an admin token on this machine
  stateDir = mkdtempSync(join(tmpdir(), 'slipway-moto-launcher-'));
  writeFileSync(
    join(stateDir, 'tokens.json'),
    JSON.stringify({ tokens: [{ name: 'admin', sha256: hashToken(adminToken), roles: ['admin'] }] }),
  );
  ({ launcher, apiUrl, lambdaPort } = await startLauncherAt(endpoint, stateDir));
});

afterAll(async () => {
  if (launcher) await interrupt(launcher);
  killLaunchers();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start against moto', () => {
  it('created the state table and the backup bucket at the endpoint, and is ready', async () => {
    expect(launcher.output()).toContain('table slipway-local-state: created');
    expect(launcher.output()).toContain('bucket slipway-local-backups: created');
    const ready = await api('GET', '/health/ready');
    expect(ready).toMatchObject({ status: 200, body: { failing: [] } });
  });

  it('deploys a tag by digest from the running revision, refuses a second deployment in flight, completes on the ECS event and rolls back to what ran before', async () => {
    // When 1.5.0 is deployed to staging
    const started = await api('POST', '/v1/deployments', {
      app: 'shop',
      environment: 'staging',
      tag: '1.5.0',
      reason: 'release 1.5.0',
    });

    // Then it is in progress, from the running revision to a new one pinned by the tag's digest
    expect(started.status).toBe(202);
    const deployment = started.body.deployment;
    expect(deployment).toMatchObject({
      state: 'IN_PROGRESS',
      kind: 'deploy',
      from: { taskDefinitionArn: running.taskDefinitionArn, digest: running.digest },
      to: { digest: candidate, tag: '1.5.0', images: { backend: `${REPOSITORY}@${candidate}` } },
      registeredTaskDefinition: true,
    });

    // And ECS runs the new revision: every field of the running one kept, the image pinned, the tags re-attached
    const service = await describeStaging();
    expect(service.taskDefinition).toBe(deployment.to.taskDefinitionArn);
    const before = await ecs().send(
      new DescribeTaskDefinitionCommand({ taskDefinition: running.taskDefinitionArn, include: ['TAGS'] }),
    );
    const after = await ecs().send(
      new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition, include: ['TAGS'] }),
    );
    const {
      taskDefinitionArn: _a,
      revision: _r,
      containerDefinitions: oldContainers,
      ...kept
    } = before.taskDefinition ?? {};
    const {
      taskDefinitionArn: _b,
      revision: _s,
      containerDefinitions: newContainers,
      ...registered
    } = after.taskDefinition ?? {};
    expect(registered).toEqual(kept);
    expect(newContainers).toEqual(
      oldContainers?.map((container) => ({ ...container, image: `${REPOSITORY}@${candidate}` })),
    );
    expect(after.tags).toEqual(before.tags);
    expect(after.tags).toEqual([
      { key: 'app', value: 'shop' },
      { key: 'slipway:managed', value: 'true' },
    ]);
    // And the circuit breaker and the health alarms roll back on failure, the service's other settings kept
    expect(service.deploymentConfiguration).toEqual({
      ...DEFAULT_DEPLOYMENT_CONFIGURATION,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: {
        alarmNames: ['slipway-local-shop-staging-availability', 'slipway-local-shop-staging-latency'],
        enable: true,
        rollback: true,
      },
    });

    // moto 5.2.1 does not start a deployment on UpdateService: its PRIMARY deployment still names the old revision,
    // where ECS makes a new PRIMARY deployment for the new task definition (ECS API Reference, UpdateService and
    // Deployment.status "PRIMARY: the most recent deployment"). Slipway records the PRIMARY id UpdateService answers,
    // which on moto is the old deployment's; the completion event below is built from the same DescribeServices.
    const primary = service.deployments?.filter((ecsDeployment) => ecsDeployment.status === 'PRIMARY') ?? [];
    expect(primary).toHaveLength(1);
    expect(primary[0]?.taskDefinition).toBe(running.taskDefinitionArn);
    expect(deployment.ecsDeploymentId).toBe(primary[0]?.id);
    // moto 5.2.1 answers neither currentServiceDeployment nor DescribeServiceDeployments (the reconciler's first
    // question); test/integration/deployments.test.ts asks the fake for both.
    expect(service.currentServiceDeployment).toBeUndefined();
    await expect(
      ecs().send(
        new DescribeServiceDeploymentsCommand({
          serviceDeploymentArns: ['arn:aws:ecs:us-east-1:123456789012:service-deployment/shop-staging/backend/x'],
        }),
      ),
    ).rejects.toThrow();

    // When a second deployment is asked for while this one is in flight, then it is refused with 409 and changes nothing
    const second = await api('POST', '/v1/deployments', { app: 'shop', environment: 'staging', tag: '1.4.2' });
    expect(second.status).toBe(409);
    expect((await describeStaging()).taskDefinition).toBe(deployment.to.taskDefinitionArn);

    // When ECS says the deployment completed
    const completed = await deliver(
      'ecsDeploymentState',
      await ecsDeploymentEvent(ecs(), CLUSTER, SERVICE, 'SERVICE_DEPLOYMENT_COMPLETED'),
    );

    // Then it succeeded, and the history shows it
    expect(completed).toMatchObject({ handled: true, result: { applied: true, deploymentId: deployment.id } });
    expect((await api('GET', `/v1/deployments/${deployment.id}`)).body.deployment.state).toBe('SUCCEEDED');
    const history = await api('GET', '/v1/apps/shop/environments/staging/deployments');
    expect(history.body.deployments.map((item: DeploymentRecord) => [item.id, item.state])).toEqual([
      [deployment.id, 'SUCCEEDED'],
    ]);

    // When staging is rolled back
    const rollback = await api('POST', '/v1/apps/shop/environments/staging/rollback', { reason: 'bad release' });

    // Then ECS runs the revision that ran before again, and the rollback completes on its event
    expect(rollback.status).toBe(202);
    expect(rollback.body.deployment).toMatchObject({
      kind: 'rollback',
      state: 'IN_PROGRESS',
      to: { taskDefinitionArn: running.taskDefinitionArn, digest: running.digest },
      registeredTaskDefinition: false,
    });
    expect((await describeStaging()).taskDefinition).toBe(running.taskDefinitionArn);
    const rolledBack = await deliver(
      'ecsDeploymentState',
      await ecsDeploymentEvent(ecs(), CLUSTER, SERVICE, 'SERVICE_DEPLOYMENT_COMPLETED'),
    );
    expect(rolledBack).toMatchObject({
      handled: true,
      result: { applied: true, deploymentId: rollback.body.deployment.id },
    });
    const after2 = await api('GET', '/v1/apps/shop/environments/staging/deployments');
    expect(after2.body.deployments.map((item: DeploymentRecord) => [item.kind, item.state])).toEqual([
      ['rollback', 'SUCCEEDED'],
      ['deploy', 'SUCCEEDED'],
    ]);
  });

  it('deploys an ECR push by digest once, however often and under however many tags it is delivered', async () => {
    // Given an image pushed to ECR as develop-42, and the ECR event for it
    const digest = await pushImage(ecr(), REPOSITORY_NAME, 'develop-42', 'develop build 42');
    const push = ecrPushEvent(REPOSITORY_NAME, 'develop-42', digest);
    const revisionsBefore = await revisions();

    // When the event is delivered
    const first = await deliver('ecrImageAction', push);

    // Then staging (release policy develop-*) deploys it by digest; production (no policy) is not a target
    expect(first).toEqual({
      handled: true,
      result: {
        targets: [
          expect.objectContaining({ app: 'shop', environment: 'staging', outcome: 'deployed', tag: 'develop-42' }),
        ],
      },
    });
    const deploymentId = first.result.targets[0]?.deploymentId;
    const service = await describeStaging();
    const deployed = await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }));
    expect(deployed.taskDefinition?.containerDefinitions?.[0]?.image).toBe(`${REPOSITORY}@${digest}`);

    // When the same event is delivered again, and the same digest is pushed under a second tag
    const again = await deliver('ecrImageAction', push);
    await pushImage(ecr(), REPOSITORY_NAME, 'develop-42-rebuilt', 'develop build 42');
    const retagged = await deliver('ecrImageAction', ecrPushEvent(REPOSITORY_NAME, 'develop-42-rebuilt', digest));

    // Then neither deploys again: one revision was registered for the digest
    for (const outcome of [again, retagged]) {
      expect(outcome.result.targets).toEqual([
        expect.objectContaining({
          environment: 'staging',
          outcome: 'skipped',
          reason: expect.stringContaining('already runs'),
        }),
      ]);
    }
    expect(await revisions()).toEqual([...revisionsBefore, service.taskDefinition]);
    const history = await api('GET', '/v1/apps/shop/environments/staging/deployments');
    expect(history.body.deployments[0]).toMatchObject({
      id: deploymentId,
      requestedBy: { kind: 'system', name: 'ecr-push' },
      to: { digest },
    });
    expect(history.body.deployments).toHaveLength(3);
  });
});
