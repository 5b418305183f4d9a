import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { AccountCredentials } from '../../../lib/aws/account-credentials';
import { createEcsClient } from '../../../lib/aws/clients/ecs';
import { parseConfig } from '../../../lib/config/load';
import type { SlipwayConfig } from '../../../lib/config/schema';
import { Deployments, type DeploymentsDeps } from '../../../lib/deploy/deployments';
import { ecsDeploymentEvent } from '../../../lib/deploy/outcome';
import { homeOf, repositorySession } from '../../../lib/deploy/placement';
import type { DeploymentRecord, Transition } from '../../../lib/deploy/records';
import { AssumeRoleFailed } from '../../../lib/errors';
import { toErrorResponse } from '../../../lib/http/route-chain';
import { metrics } from '../../../lib/observability';
import type { EnvironmentLock } from '../../../lib/store/locks';
import { captureLogs } from '../../support/logs';

/**
 * Environments in other accounts: which ECS events are theirs (an event's account and region must be those
 * of the environment owning the service it names), and what a role that cannot be assumed becomes (a 502
 * naming the account and the role at a request; on the deployment, notified, while the reconciler asks again).
 */

const stsMock = mockClient(STSClient);
const secretsMock = mockClient(SecretsManagerClient);

const HOME = { account: '111111111111', region: 'us-east-1' };
const MEMBER = '222222222222';
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-member`;
const EXTERNAL_ID = 'shop-staging-7f3a9c1e';
const T0 = new Date('2026-12-06T10:00:00.000Z');

const config: SlipwayConfig = parseConfig(
  `auth:
  tokensSecret: slipway/api-tokens
accounts:
  staging:
    roleArn: ${MEMBER_ROLE}
    externalIdSecret: slipway/staging-external-id
    regions: [eu-west-1]
apps:
  shop:
    repository: ${MEMBER}.dkr.ecr.eu-west-1.amazonaws.com/shop-backend
    containers: [backend]
    environments:
      staging:
        cluster: shop-staging
        service: backend
        account: staging
        region: eu-west-1
      production:
        cluster: shop-prod
        service: backend
deployments:
  timeoutMinutes: 30
  settleAfterMinutes: 5
`,
  'config/test.yml',
);

/** The published example (ECS developer guide), moved to `where` and to the service and deployment of a test. */
function completed(where: { account: string; region: string; arnAccount?: string }, cluster: string) {
  const sample = JSON.parse(readFileSync('events/ecs.deployment-completed.json', 'utf8'));
  return ecsDeploymentEvent.parse({
    ...sample,
    account: where.account,
    region: where.region,
    resources: [`arn:aws:ecs:${where.region}:${where.arnAccount ?? where.account}:service/${cluster}/backend`],
  });
}

function inFlight(environment: string, cluster: string): DeploymentRecord {
  const at = T0.toISOString();
  return {
    id: `dep-00000000-0000-4000-8000-00000000000${environment === 'staging' ? 1 : 2}`,
    app: 'shop',
    environment,
    kind: 'restart',
    state: 'IN_PROGRESS',
    requestedBy: { name: 'alice', kind: 'token' },
    createdAt: at,
    updatedAt: at,
    cluster,
    service: 'backend',
    from: { taskDefinitionArn: 'td:1', images: {} },
    to: { taskDefinitionArn: 'td:1', images: {}, forceNewDeployment: true },
    registeredTaskDefinition: false,
    ecsDeploymentId: 'ecs-svc/4815162342081516234',
    approvals: { required: 0, by: [] },
    timeline: [
      { state: 'REQUESTED', at, by: 'alice' },
      { state: 'IN_PROGRESS', at },
    ],
  };
}

/** The state table, in memory: records by id, and each environment's lock. */
function memoryTable(records: DeploymentRecord[]) {
  const byId = new Map(records.map((record) => [record.id, structuredClone(record)]));
  const locks = new Map<string, EnvironmentLock>(
    records.map((record) => [
      `${record.app}/${record.environment}`,
      { app: record.app, environment: record.environment, deploymentId: record.id, acquiredAt: record.createdAt },
    ]),
  );
  const store = {
    get: async (id: string) => byId.get(id),
    create: async (record: DeploymentRecord) => void byId.set(record.id, record),
    history: async (app: string, environment: string) => ({
      items: [...byId.values()].filter((record) => record.app === app && record.environment === environment),
    }),
    apply: async (id: string, change: Transition, options: { set?: Partial<DeploymentRecord> } = {}) => {
      const record = byId.get(id);
      if (!record || !change.from.includes(record.state)) return undefined;
      const next: DeploymentRecord = {
        ...record,
        ...options.set,
        state: change.to,
        updatedAt: change.at,
        timeline: [
          ...record.timeline,
          { state: change.to, at: change.at, ...(change.note ? { note: change.note } : {}) },
        ],
      };
      byId.set(id, next);
      return next;
    },
    annotate: async (id: string, set: Partial<DeploymentRecord>) => {
      const record = byId.get(id);
      if (record) byId.set(id, { ...record, ...set });
    },
  };
  const environmentLocks = {
    acquire: async (lock: EnvironmentLock) => void locks.set(`${lock.app}/${lock.environment}`, lock),
    release: async (app: string, environment: string) => locks.delete(`${app}/${environment}`),
    list: async () => [...locks.values()],
    holder: async (app: string, environment: string) => locks.get(`${app}/${environment}`)?.deploymentId,
  };
  return { byId, store, locks: environmentLocks };
}

function deploymentsOn(table: ReturnType<typeof memoryTable>, ecsFor: DeploymentsDeps['ecsFor'], clock: () => Date) {
  const published: Array<{ type: string; body: unknown }> = [];
  const deployments = new Deployments({
    config,
    stage: 'test',
    store: table.store as unknown as DeploymentsDeps['store'],
    locks: table.locks as unknown as DeploymentsDeps['locks'],
    ecsFor,
    ecrFor: () => {
      throw new Error('no registry read expected');
    },
    publisher: {
      publish: async (message: { type: string; body: unknown }) => {
        published.push(message);
        return true;
      },
    } as unknown as DeploymentsDeps['publisher'],
    audit: { record: async () => undefined } as unknown as DeploymentsDeps['audit'],
    now: clock,
    newId: () => 'dep-00000000-0000-4000-8000-000000000009',
  });
  return { deployments, published };
}

/** ECS clients through AccountCredentials, on an endpoint nothing listens on: a call gets no further than its credentials. */
function throughAccounts() {
  const accounts = new AccountCredentials(config.accounts, {
    sts: new STSClient({ region: 'us-east-1' }),
    secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    env: { AWS_REGION: HOME.region, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
  });
  return (place: Parameters<DeploymentsDeps['ecsFor']>[0], operation: Parameters<DeploymentsDeps['ecsFor']>[1]) =>
    accounts.client(createEcsClient, place, operation);
}

const noEcs: DeploymentsDeps['ecsFor'] = () => {
  throw new Error('no ECS call expected');
};

beforeEach(() => {
  stsMock.reset();
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: EXTERNAL_ID });
  // STS API Reference, AssumeRole, Errors: a role whose trust policy does not name the caller answers AccessDenied.
  stsMock.on(AssumeRoleCommand).rejects(
    Object.assign(new Error(`User is not authorized to perform: sts:AssumeRole on resource: ${MEMBER_ROLE}`), {
      name: 'AccessDenied',
    }),
  );
});

afterEach(() => jest.restoreAllMocks());

describe('where the control plane is', () => {
  it('takes its account from the function’s ARN, and none from npm start’s', () => {
    expect(
      homeOf('arn:aws:lambda:us-east-1:111111111111:function:slipway-prod-ecsDeploymentState', 'us-east-1'),
    ).toEqual(HOME);
    expect(homeOf('offline_invokedFunctionArn_for_ecsDeploymentState', 'us-east-1')).toEqual({
      account: undefined,
      region: 'us-east-1',
    });
  });
});

describe('the registry a deployment reads', () => {
  it('is read as the deployment’s session when the repository is in the environment’s account, else with the function’s own', () => {
    const operation = { id: 'dep-1', principal: 'alice' };
    const staging = config.apps.shop?.environments.staging as { account?: string };
    expect(repositorySession(config, `${MEMBER}.dkr.ecr.eu-west-1.amazonaws.com/shop`, staging, operation)).toEqual({
      account: 'staging',
      operation,
    });
    expect(repositorySession(config, '111111111111.dkr.ecr.us-east-1.amazonaws.com/shop', staging, operation)).toBe(
      undefined,
    );
    expect(repositorySession(config, `${MEMBER}.dkr.ecr.eu-west-1.amazonaws.com/shop`, {}, operation)).toBe(undefined);
  });
});

describe('ECS events of environments in other accounts', () => {
  it('settles a deployment of the member account’s service from an event of that account and region', async () => {
    // Given staging's deployment in flight, in 222222222222/eu-west-1
    const table = memoryTable([inFlight('staging', 'shop-staging')]);
    const { deployments } = deploymentsOn(table, noEcs, () => T0);

    // When the completion event arrives from 222222222222 in eu-west-1
    const outcome = await deployments.onEcsEvent(
      completed({ account: MEMBER, region: 'eu-west-1' }, 'shop-staging'),
      HOME,
    );

    // Then it succeeds
    expect(outcome).toMatchObject({ applied: true, reason: 'IN_PROGRESS → SUCCEEDED' });
  });

  it('ignores an event naming the member account’s service that arrives with another account, with its id in the log and a metric', async () => {
    // Given staging's deployment in flight
    const table = memoryTable([inFlight('staging', 'shop-staging')]);
    const { deployments } = deploymentsOn(table, noEcs, () => T0);
    const metric = jest.spyOn(metrics, 'addMetric');
    const event = completed({ account: '333333333333', region: 'eu-west-1', arnAccount: MEMBER }, 'shop-staging');

    // When an event names staging's service but comes from account 333333333333
    const { result, output } = await captureLogs(() => deployments.onEcsEvent(event, HOME));

    // Then nothing changes, the log line names the event, and the metric counts it
    expect(result).toEqual({
      applied: false,
      reason:
        "the event comes from account 333333333333 in eu-west-1, but shop/staging's service is in account 222222222222 in eu-west-1",
    });
    expect(table.byId.get(inFlight('staging', 'shop-staging').id)?.state).toBe('IN_PROGRESS');
    expect(output).toContain(event.id);
    expect(output).toContain('ECS event from another account or region than the service it names ignored');
    expect(metric).toHaveBeenCalledWith('EcsEventsFromOtherAccounts', 'Count', 1);
  });

  it.each([
    ['from the member account in another region', { account: MEMBER, region: 'us-east-1' }],
    ['from the control plane’s own account', { account: HOME.account, region: 'eu-west-1', arnAccount: MEMBER }],
  ])('ignores an event for the member account’s service %s', async (_what, where) => {
    const table = memoryTable([inFlight('staging', 'shop-staging')]);
    const { deployments } = deploymentsOn(table, noEcs, () => T0);

    const outcome = await deployments.onEcsEvent(completed(where, 'shop-staging'), HOME);

    expect(outcome.applied).toBe(false);
    expect(table.byId.get(inFlight('staging', 'shop-staging').id)?.state).toBe('IN_PROGRESS');
  });

  it('settles a deployment of the control plane’s own account only from an event of that account', async () => {
    // Given production's deployment in flight, in the control plane's own account and region
    const table = memoryTable([inFlight('production', 'shop-prod')]);
    const { deployments } = deploymentsOn(table, noEcs, () => T0);

    // When an event from the member account names production's service as in the member account, it is not production's
    const foreign = await deployments.onEcsEvent(
      completed({ account: MEMBER, region: 'us-east-1' }, 'shop-prod'),
      HOME,
    );
    expect(foreign).toEqual({ applied: false, reason: 'not a service Slipway manages' });
    // And one from the control plane's own account with production's service settles it
    const own = await deployments.onEcsEvent(
      completed({ account: HOME.account, region: 'us-east-1' }, 'shop-prod'),
      HOME,
    );
    expect(own).toMatchObject({ applied: true, reason: 'IN_PROGRESS → SUCCEEDED' });
  });
});

describe('a member account’s role that cannot be assumed', () => {
  it('refuses a request with a 502 naming the account and the role, never the external id', async () => {
    // Given staging's role refusing the control plane (AccessDenied)
    const table = memoryTable([]);
    const { deployments } = deploymentsOn(table, throughAccounts(), () => T0);

    // When a restart of staging is asked for
    const failure = await deployments
      .request({
        app: 'shop',
        environment: 'staging',
        target: { kind: 'restart' },
        requestedBy: { name: 'alice', kind: 'token' },
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );

    // Then it fails as AssumeRoleFailed, which the HTTP edge answers 502 naming account and role
    expect(failure).toBeInstanceOf(AssumeRoleFailed);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: MEMBER_ROLE,
      RoleSessionName: 'dep-00000000-0000-4000-8000-000000000009',
      SourceIdentity: 'alice',
      ExternalId: EXTERNAL_ID,
    });
    const response = toErrorResponse(failure, 'req-1');
    expect(response.statusCode).toBe(502);
    const body = JSON.parse(response.body ?? '{}');
    expect(body.error.message).toBe(
      `cannot assume role ${MEMBER_ROLE} of account staging: STS refused it (AccessDenied)`,
    );
    expect(response.body).not.toContain(EXTERNAL_ID);
    // And nothing is recorded nor left locked
    expect(table.byId.size).toBe(0);
    expect(await table.locks.list()).toEqual([]);
  });

  it('is recorded on a deployment in flight and notified once; the reconciler asks again, and the timeout still ends it', async () => {
    // Given staging's deployment in flight, its account's role refusing
    const record = inFlight('staging', 'shop-staging');
    const table = memoryTable([record]);
    let clock = new Date(T0.getTime() + 10 * 60_000);
    const { deployments, published } = deploymentsOn(table, throughAccounts(), () => clock);

    // When the reconciler runs past settleAfterMinutes, twice
    const first = await deployments.reconcile();
    clock = new Date(T0.getTime() + 11 * 60_000);
    await deployments.reconcile();

    // Then the deployment stays in flight with the reason recorded, notified once
    expect(first).toEqual([
      { deploymentId: record.id, outcome: 'still in progress; ECS could not tell (AccessDenied)' },
    ]);
    const reason = `cannot assume role ${MEMBER_ROLE} of account staging: STS refused it (AccessDenied)`;
    expect(table.byId.get(record.id)).toMatchObject({
      state: 'IN_PROGRESS',
      ecsUnreachable: { reason, at: new Date(T0.getTime() + 10 * 60_000).toISOString() },
    });
    const notified = published.filter((message) => message.type === 'deployment.unreachable');
    expect(notified).toHaveLength(1);
    expect(notified[0]?.body).toMatchObject({
      deployment: { id: record.id, state: 'IN_PROGRESS', ecsUnreachable: reason },
    });
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);

    // When the reconciler runs past timeoutMinutes
    clock = new Date(T0.getTime() + 31 * 60_000);
    const last = await deployments.reconcile();

    // Then the deployment times out, naming why ECS could not tell
    expect(last).toEqual([{ deploymentId: record.id, outcome: 'TIMED_OUT' }]);
    expect(table.byId.get(record.id)?.timeline.at(-1)?.note).toBe(
      'no outcome from ECS after 30 minutes (last asked: AccessDenied)',
    );
  });
});
