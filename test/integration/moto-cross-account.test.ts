import type { ECRClient } from '@aws-sdk/client-ecr';
import { ListImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, type ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import type { AwsCredentialIdentity } from '@smithy/types';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { configSchema } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import { ecsDeploymentEvent as ecsEventSchema } from '../../lib/deploy/outcome';
import type { DeploymentRecord } from '../../lib/deploy/records';
import type { Publisher } from '../../lib/notify/publisher';
import { DeploymentStore } from '../../lib/store/deployments';
import { EnvironmentLocks } from '../../lib/store/locks';
import { auditOn } from '../support/audit';
import { motoEndpoint } from '../support/moto';
import { ecsDeploymentEvent } from '../support/moto-aws';
import { controlPlaneAndMember, controlPlaneOn, SHOP_MEMBER } from '../support/moto-member';

/**
 * A deployment to a service in another account and region, end to end on moto (which keeps a backend per
 * account and region, and implements sts:AssumeRole): the control plane in 111111111111/us-east-1 deploys
 * to shop/staging in 222222222222/eu-west-1 as the deployment's session on the member account's role,
 * the completion event from 222222222222 settles it, an event claiming the service from another account
 * is ignored, and a rollback goes back to the previous revision in that account.
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = SHOP_MEMBER.account;
const MEMBER_REGION = SHOP_MEMBER.region;
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-createDeployment`;
const { role: MEMBER_ROLE, repositoryName: REPOSITORY_NAME, repository: REPOSITORY } = SHOP_MEMBER;
const TABLE = 'slipway-cross-account-state';
const HOME = { account: CONTROL_PLANE, region: 'us-east-1' };

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: {
    staging: { roleArn: MEMBER_ROLE, externalIdSecret: 'slipway/staging-external-id', regions: [MEMBER_REGION] },
  },
  apps: {
    shop: {
      repository: REPOSITORY,
      containers: ['backend'],
      environments: {
        staging: {
          cluster: 'shop-staging',
          service: 'backend',
          account: 'staging',
          region: 'eu-west-1',
          // Probed from the control plane, which puts the metrics in 222222222222/eu-west-1, where its alarms are.
          health: [{ url: 'https://staging.shop.example.com/health/ready' }],
          alarms: ['shop-staging-5xx'],
        },
      },
    },
  },
});

let env: Record<string, string>;
let own: AwsCredentialIdentity;
let member: { ecs: ECSClient; ecr: ECRClient };
let deployments: Deployments;
let store: DeploymentStore;
const published: Array<{ type: string; state?: string }> = [];
let running: { taskDefinitionArn: string; digest: string };
let candidate: string;

const serviceIn = async (ecs: ECSClient) =>
  (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-staging', services: ['backend'] }))).services?.[0];

beforeAll(async () => {
  // Given the function's own credentials in the control plane's account, the member's external id there, and, in
  // 222222222222/eu-west-1, the shop's repository with two images and the staging service running the first
  const seeded = await controlPlaneAndMember({
    endpoint: motoEndpoint(),
    functionRole: FUNCTION_ROLE,
    cidr: '10.30.0.0/16',
  });
  ({ env, own, member, running, candidate } = { ...seeded, ...seeded.member });
  const { secrets } = seeded;

  // And the control plane's state table in its own account, and its sessions on the accounts config names
  const { documents, ecsFor, ecrFor } = await controlPlaneOn(env, own, {
    accounts: config.accounts,
    secrets,
    table: TABLE,
  });
  store = new DeploymentStore(documents, TABLE);
  deployments = new Deployments({
    config,
    stage: 'test',
    store,
    locks: new EnvironmentLocks(documents, TABLE),
    ecsFor,
    ecrFor,
    publisher: {
      publish: async (message: { type: string; state?: string }) => {
        published.push({ type: message.type, ...(message.state ? { state: message.state } : {}) });
        return true;
      },
    } as unknown as Publisher,
    audit: auditOn(documents, TABLE).audit,
  });
});

describe('a deployment to shop/staging in 222222222222/eu-west-1 from a control plane in 111111111111/us-east-1', () => {
  let deployed: DeploymentRecord;

  it('resolves the tag in the member account’s registry and rolls the new revision out on its service', async () => {
    // When alice deploys 1.5.0 to staging
    const outcome = await deployments.request({
      app: 'shop',
      environment: 'staging',
      target: { kind: 'deploy', tag: '1.5.0' },
      requestedBy: { name: 'alice', kind: 'token' },
    });
    if (outcome.dryRun) throw new Error('not a dry run');
    deployed = outcome.deployment;

    // Then it is in flight, from the running revision to one registered in the member account and region
    expect(deployed).toMatchObject({ state: 'IN_PROGRESS', to: { digest: candidate, tag: '1.5.0' } });
    expect(deployed.from.taskDefinitionArn).toBe(running.taskDefinitionArn);
    expect(deployed.to.taskDefinitionArn).toMatch(
      new RegExp(`^arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:task-definition/`),
    );
    // And the member's service runs it, pinned by the tag's digest, rolling back on its configured alarm and on
    // Slipway's health alarms: ECS looks alarm names up where the service is, and the member account's template
    // makes the health alarms there (lib/events/member-account/health-alarms.ts)
    const service = await serviceIn(member.ecs);
    expect(service?.taskDefinition).toBe(deployed.to.taskDefinitionArn);
    expect(service?.deploymentConfiguration?.alarms).toEqual({
      alarmNames: ['shop-staging-5xx', 'slipway-test-shop-staging-availability', 'slipway-test-shop-staging-latency'],
      enable: true,
      rollback: true,
    });
    // And the control plane's own account holds no cluster, in either region
    for (const region of ['us-east-1', MEMBER_REGION]) {
      const clusters = await createEcsClient({ ...env, AWS_REGION: region }, own).send(new ListClustersCommand({}));
      expect(clusters.clusterArns).toEqual([]);
    }
    // And the tag was read where the repository is (the member account's registry lists both images)
    expect((await member.ecr.send(new ListImagesCommand({ repositoryName: REPOSITORY_NAME }))).imageIds).toHaveLength(
      2,
    );
  });

  it('ignores a completion event that names the member’s service but arrives with another account', async () => {
    // Given the completion event of the member's deployment, claimed by account 333333333333
    const forged = ecsEventSchema.parse(
      await ecsDeploymentEvent(member.ecs, 'shop-staging', 'backend', 'SERVICE_DEPLOYMENT_COMPLETED', {
        account: '333333333333',
      }),
    );
    expect(forged.resources[0]).toMatch(new RegExp(`^arn:aws:ecs:${MEMBER_REGION}:${MEMBER}:service/`));

    // When it is delivered
    const outcome = await deployments.onEcsEvent(forged, HOME);

    // Then the deployment is still in flight
    expect(outcome.applied).toBe(false);
    expect((await store.get(deployed.id))?.state).toBe('IN_PROGRESS');
  });

  it('settles on the completion event from 222222222222 in eu-west-1', async () => {
    // Given the completion event, from the member account and region, as ECS sends it
    const event = ecsEventSchema.parse(
      await ecsDeploymentEvent(member.ecs, 'shop-staging', 'backend', 'SERVICE_DEPLOYMENT_COMPLETED'),
    );
    expect({ account: event.account, region: event.region }).toEqual({ account: MEMBER, region: MEMBER_REGION });

    // When it is delivered
    const outcome = await deployments.onEcsEvent(event, HOME);

    // Then the deployment succeeded, and it was notified
    expect(outcome).toMatchObject({ applied: true, deploymentId: deployed.id, reason: 'IN_PROGRESS → SUCCEEDED' });
    expect((await store.get(deployed.id))?.state).toBe('SUCCEEDED');
    expect(published.at(-1)).toEqual({ type: 'deployment.state', state: 'SUCCEEDED' });
  });

  it('rolls back to the previous revision in the member account', async () => {
    // When bob rolls staging back
    const outcome = await deployments.request({
      app: 'shop',
      environment: 'staging',
      target: { kind: 'rollback' },
      requestedBy: { name: 'bob', kind: 'token' },
    });
    if (outcome.dryRun) throw new Error('not a dry run');

    // Then the member's service runs the revision it ran before the deployment
    expect(outcome.deployment).toMatchObject({
      kind: 'rollback',
      state: 'IN_PROGRESS',
      to: { taskDefinitionArn: running.taskDefinitionArn, digest: running.digest },
    });
    expect((await serviceIn(member.ecs))?.taskDefinition).toBe(running.taskDefinitionArn);
  });
});
