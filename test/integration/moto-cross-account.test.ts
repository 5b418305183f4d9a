import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { type ECRClient, ListImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, type ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import { AccountCredentials } from '../../lib/aws/account-credentials';
import { clientConfig } from '../../lib/aws/client-config';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createStsClient } from '../../lib/aws/clients/sts';
import { configSchema } from '../../lib/config/schema';
import { Deployments, type DeploymentsDeps } from '../../lib/deploy/deployments';
import { ecsDeploymentEvent as ecsEventSchema } from '../../lib/deploy/outcome';
import type { DeploymentRecord } from '../../lib/deploy/records';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureStateTable } from '../../lib/local/provision';
import type { Publisher } from '../../lib/notify/publisher';
import { DeploymentStore } from '../../lib/store/deployments';
import { EnvironmentLocks } from '../../lib/store/locks';
import { auditOn } from '../support/audit';
import { motoEndpoint, resetMoto } from '../support/moto';
import {
  createRepository,
  createService,
  ecsDeploymentEvent,
  fixtureRegistration,
  pushImage,
  registerTaskDefinition,
  sessionOn,
} from '../support/moto-aws';
import { resourcesFragment } from '../support/resources';

/**
 * A deployment to a service in another account and region, end to end on moto (which keeps a backend per
 * account and region, and implements sts:AssumeRole): the control plane in 111111111111/us-east-1 deploys
 * to shop/staging in 222222222222/eu-west-1 as the deployment's session on the member account's role,
 * the completion event from 222222222222 settles it, an event claiming the service from another account
 * is ignored, and a rollback goes back to the previous revision in that account.
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = '222222222222';
const MEMBER_REGION = 'eu-west-1';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-createDeployment`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-member`;
const REPOSITORY_NAME = 'shop-backend';
const REPOSITORY = `${MEMBER}.dkr.ecr.${MEMBER_REGION}.amazonaws.com/${REPOSITORY_NAME}`;
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
          // Probed from the control plane, whose alarms on them are in 111111111111/us-east-1.
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
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' };
  // Given the function's own credentials in the control plane's account, and the member's external id there
  own = await sessionOn(env, FUNCTION_ROLE, 'slipway-prod-createDeployment');
  const secrets = createSecretsManagerClient(env, own);
  await secrets.send(
    new CreateSecretCommand({ Name: 'slipway/staging-external-id', SecretString: 'shop-staging-7f3a' }),
  );

  // And, in 222222222222/eu-west-1, the shop's repository with two images and the staging service running the first
  const seeding = await sessionOn(env, MEMBER_ROLE, 'operator-seeding', own);
  const memberEnv = { ...env, AWS_REGION: MEMBER_REGION };
  member = { ecs: createEcsClient(memberEnv, seeding), ecr: createEcrClient(memberEnv, seeding) };
  await createRepository(member.ecr, REPOSITORY_NAME);
  const runningDigest = await pushImage(member.ecr, REPOSITORY_NAME, '1.4.2', 'running');
  candidate = await pushImage(member.ecr, REPOSITORY_NAME, '1.5.0', 'candidate');
  const ec2 = new EC2Client(clientConfig('ecs', memberEnv, seeding));
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }));
  const { Subnet } = await ec2.send(
    new CreateSubnetCommand({ VpcId: Vpc?.VpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: 'eu-west-1a' }),
  );
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({ VpcId: Vpc?.VpcId, GroupName: 'shop', Description: 'shop (Slipway tests)' }),
  );
  const network = {
    vpcId: Vpc?.VpcId as string,
    subnetIds: [Subnet?.SubnetId as string],
    securityGroupId: GroupId as string,
  };
  const taskDefinitionArn = await registerTaskDefinition(
    member.ecs,
    fixtureRegistration(`${REPOSITORY}@${runningDigest}`),
  );
  running = { taskDefinitionArn, digest: runningDigest };
  await createService(member.ecs, { cluster: 'shop-staging', service: 'backend', taskDefinitionArn, network });

  // And the control plane's state table in its own account, and its sessions on the accounts config names
  const dynamo = createDynamoDbClient(env, own);
  await ensureStateTable(
    dynamo,
    resourcesFragment('resources/state-table.yml', TABLE).StateTable as CloudFormationResource,
    () => undefined,
  );
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const accounts = new AccountCredentials(config.accounts, { sts: createStsClient(env, own), secrets, env });
  const ecsFor: DeploymentsDeps['ecsFor'] = (place, operation) => accounts.client(createEcsClient, place, operation);
  const ecrFor: DeploymentsDeps['ecrFor'] = (region, session) =>
    session
      ? accounts.client(createEcrClient, { account: session.account, region }, session.operation)
      : createEcrClient({ ...env, AWS_REGION: region }, own);
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
    // And the member's service runs it, pinned by the tag's digest, rolling back on the alarms of its own account
    // only: ECS looks alarm names up where the service is, and Slipway's health alarms are in the control plane's
    const service = await serviceIn(member.ecs);
    expect(service?.taskDefinition).toBe(deployed.to.taskDefinitionArn);
    expect(service?.deploymentConfiguration?.alarms).toEqual({
      alarmNames: ['shop-staging-5xx'],
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
