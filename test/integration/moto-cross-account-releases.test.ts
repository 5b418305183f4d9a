import { readFileSync } from 'node:fs';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import { makeHandler as makeEcrImageAction } from '../../functions/events/ecr-image-action';
import { AccountCredentials } from '../../lib/aws/account-credentials';
import { clientConfig } from '../../lib/aws/client-config';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createStsClient } from '../../lib/aws/clients/sts';
import { configSchema } from '../../lib/config/schema';
import { Deployments, type DeploymentsDeps } from '../../lib/deploy/deployments';
import type { DeadLetters } from '../../lib/events/dead-letter';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureStateTable } from '../../lib/local/provision';
import type { Publisher } from '../../lib/notify/publisher';
import { Releases } from '../../lib/release/releases';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { ReleaseStore } from '../../lib/store/releases';
import { auditOn } from '../support/audit';
import { lambdaContext } from '../support/http';
import { motoEndpoint, resetMoto } from '../support/moto';
import {
  createRepository,
  createService,
  fixtureRegistration,
  pushImage,
  registerTaskDefinition,
} from '../support/moto-aws';
import { resourcesFragment } from '../support/resources';

/**
 * A release from a repository in another account and region, end to end on moto (a backend per account and
 * region, sts:AssumeRole implemented): shop's repository and its staging service are in 222222222222/eu-west-1,
 * the control plane in 111111111111/us-east-1. The ECR Image Action event of a push there, as 222222222222's rule
 * forwards it (events/ecr.image-push.forwarded.json), handled by the real handler, reads the image through the
 * release's session on the member's role and deploys it by digest to staging; the same event claimed by another
 * account config names is ignored.
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = '222222222222';
const OTHER_MEMBER = '333333333333';
const MEMBER_REGION = 'eu-west-1';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-ecrImageAction`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-member`;
const REPOSITORY_NAME = 'shop-backend';
const REPOSITORY = `${MEMBER}.dkr.ecr.${MEMBER_REGION}.amazonaws.com/${REPOSITORY_NAME}`;
const TABLE = 'slipway-cross-account-releases';

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: {
    staging: { roleArn: MEMBER_ROLE, externalIdSecret: 'slipway/staging-external-id', regions: [MEMBER_REGION] },
    production: { roleArn: `arn:aws:iam::${OTHER_MEMBER}:role/slipway-member` },
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
          region: MEMBER_REGION,
          release: { semver: 'minor' },
        },
      },
    },
  },
});

let env: Record<string, string>;
let member: { ecs: ECSClient; ecr: ECRClient };
let store: DeploymentStore;
let onPush: (event: unknown) => Promise<unknown>;
let running: { taskDefinitionArn: string; digest: string };
let candidate: string;
/** The AssumeRole requests the control plane sends. */
const assumed: AssumeRoleCommandInput[] = [];

async function sessionOn(roleArn: string, name: string, as?: AwsCredentialIdentity): Promise<AwsCredentialIdentity> {
  const { Credentials } = await createStsClient(env, as).send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: name }),
  );
  return {
    accessKeyId: Credentials?.AccessKeyId as string,
    secretAccessKey: Credentials?.SecretAccessKey as string,
    sessionToken: Credentials?.SessionToken as string,
  };
}

const serviceIn = async (ecs: ECSClient) =>
  (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-staging', services: ['backend'] }))).services?.[0];

/** AWS's push sample as 222222222222's rule forwards it, for the image pushed; `account` claimed as given. */
function forwardedPush(digest: string, account = MEMBER) {
  const event = JSON.parse(readFileSync('events/ecr.image-push.forwarded.json', 'utf8'));
  event.detail['image-digest'] = digest;
  event.account = account;
  return event;
}

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' };
  // Given the ecrImageAction function's own credentials in the control plane's account, and the member's external id
  const own = await sessionOn(FUNCTION_ROLE, 'slipway-prod-ecrImageAction');
  const secrets = createSecretsManagerClient(env, own);
  await secrets.send(
    new CreateSecretCommand({ Name: 'slipway/staging-external-id', SecretString: 'shop-staging-7f3a' }),
  );

  // And, in 222222222222/eu-west-1, shop's repository with 1.4.2, running on the staging service, and 1.5.0 pushed
  const seeding = await sessionOn(MEMBER_ROLE, 'operator-seeding', own);
  const memberEnv = { ...env, AWS_REGION: MEMBER_REGION };
  member = { ecs: createEcsClient(memberEnv, seeding), ecr: createEcrClient(memberEnv, seeding) };
  await createRepository(member.ecr, REPOSITORY_NAME);
  const runningDigest = await pushImage(member.ecr, REPOSITORY_NAME, '1.4.2', 'running');
  candidate = await pushImage(member.ecr, REPOSITORY_NAME, '1.5.0', 'candidate');
  const ec2 = new EC2Client(clientConfig('ecs', memberEnv, seeding));
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }));
  const { Subnet } = await ec2.send(
    new CreateSubnetCommand({ VpcId: Vpc?.VpcId, CidrBlock: '10.40.1.0/24', AvailabilityZone: 'eu-west-1a' }),
  );
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({ VpcId: Vpc?.VpcId, GroupName: 'shop', Description: 'shop (Slipway tests)' }),
  );
  const taskDefinitionArn = await registerTaskDefinition(
    member.ecs,
    fixtureRegistration(`${REPOSITORY}@${runningDigest}`),
  );
  running = { taskDefinitionArn, digest: runningDigest };
  await createService(member.ecs, {
    cluster: 'shop-staging',
    service: 'backend',
    taskDefinitionArn,
    network: {
      vpcId: Vpc?.VpcId as string,
      subnetIds: [Subnet?.SubnetId as string],
      securityGroupId: GroupId as string,
    },
  });

  // And the control plane's state table, its sessions on the accounts config names (AssumeRole requests recorded),
  // and the release and deploy use cases as the functions wire them
  const dynamo = createDynamoDbClient(env, own);
  await ensureStateTable(
    dynamo,
    resourcesFragment('resources/state-table.yml', TABLE).StateTable as CloudFormationResource,
    () => undefined,
  );
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const sts = createStsClient(env, own);
  sts.middlewareStack.add(
    (next) => async (args) => {
      assumed.push(args.input as AssumeRoleCommandInput);
      return next(args);
    },
    { step: 'initialize' },
  );
  const accounts = new AccountCredentials(config.accounts, { sts, secrets, env });
  const ecsFor: DeploymentsDeps['ecsFor'] = (place, operation) => accounts.client(createEcsClient, place, operation);
  const ecrFor: DeploymentsDeps['ecrFor'] = (region, session) =>
    session
      ? accounts.client(createEcrClient, { account: session.account, region }, session.operation)
      : createEcrClient({ ...env, AWS_REGION: region }, own);
  const publisher = { publish: async () => true } as unknown as Publisher;
  const audit = auditOn(documents, TABLE).audit;
  store = new DeploymentStore(documents, TABLE);
  const deployments = new Deployments({
    config,
    stage: 'test',
    store,
    locks: new EnvironmentLocks(documents, TABLE),
    ecsFor,
    ecrFor,
    publisher,
    audit,
  });
  const releases = new Releases({
    config,
    deployments,
    store: new ReleaseStore(documents, TABLE),
    ecsFor,
    ecrFor,
    idempotency: dynamoDbIdempotency(documents, TABLE),
    publisher,
    audit,
  });
  const deadLetters: DeadLetters = {
    send: async () => {
      throw new Error('no event of this test is dead-lettered');
    },
  };
  const handler = makeEcrImageAction({
    releases,
    deadLetters,
    memberAccounts: () => new Set([MEMBER, OTHER_MEMBER]),
  });
  const context = lambdaContext({
    functionName: 'slipway-prod-ecrImageAction',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${CONTROL_PLANE}:function:slipway-prod-ecrImageAction`,
  });
  onPush = (event) => handler(event, context);
});

describe('a push to shop’s repository in 222222222222/eu-west-1, heard by a control plane in 111111111111/us-east-1', () => {
  it('ignores the push event when it claims account 333333333333, which config names too', async () => {
    // Given the push event of 1.5.0, claimed by account production
    const forged = forwardedPush(candidate, OTHER_MEMBER);

    // When the handler is given it
    const outcome = await onPush(forged);

    // Then it is ignored for coming from elsewhere than the repository, and staging still runs 1.4.2
    expect(outcome).toEqual({
      handled: true,
      result: {
        ignored: `the event comes from account ${OTHER_MEMBER} in ${MEMBER_REGION}, but repository ${REPOSITORY_NAME} is in account ${MEMBER} in ${MEMBER_REGION}`,
        targets: [],
      },
    });
    expect((await store.history('shop', 'staging', { limit: 10 })).items).toEqual([]);
    expect((await serviceIn(member.ecs))?.taskDefinition).toBe(running.taskDefinitionArn);
  });

  it('deploys the pushed image by digest to staging, having read it as the release’s session on the member’s role', async () => {
    // Given the push event of 1.5.0 as 222222222222's rule in eu-west-1 forwards it
    const event = forwardedPush(candidate);

    // When the handler is given it
    const outcome = (await onPush(event)) as {
      handled: boolean;
      result: { targets: Array<{ deploymentId?: string }> };
    };

    // Then staging's release policy deployed it
    expect(outcome).toMatchObject({
      handled: true,
      result: { targets: [{ app: 'shop', environment: 'staging', outcome: 'deployed', tag: '1.5.0' }] },
    });
    const deploymentId = outcome.result.targets[0]?.deploymentId as string;
    expect(await store.get(deploymentId)).toMatchObject({
      state: 'IN_PROGRESS',
      requestedBy: { name: 'ecr-push' },
      to: { digest: candidate, tag: '1.5.0' },
    });
    // And the member's service runs a revision pinned to the pushed digest
    const service = await serviceIn(member.ecs);
    expect(service?.taskDefinition).not.toBe(running.taskDefinitionArn);
    const { taskDefinition } = await member.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: service?.taskDefinition }),
    );
    expect(taskDefinition?.containerDefinitions?.[0]?.image).toBe(`${REPOSITORY}@${candidate}`);
    // And the image was read as the release's session (named after its digest, the pusher its source identity)
    // on the member's role: the control plane's own account has no repository to read, in either region
    expect(assumed).toContainEqual(
      expect.objectContaining({
        RoleArn: MEMBER_ROLE,
        RoleSessionName: `release-${candidate.slice('sha256:'.length, 'sha256:'.length + 32)}`,
        SourceIdentity: 'ecr-push',
        ExternalId: 'shop-staging-7f3a',
      }),
    );
    expect(assumed.every((input) => input.RoleArn === MEMBER_ROLE)).toBe(true);
    for (const region of ['us-east-1', MEMBER_REGION]) {
      const own = createEcrClient({ ...env, AWS_REGION: region }, await sessionOn(FUNCTION_ROLE, 'looking'));
      expect((await own.send(new DescribeRepositoriesCommand({}))).repositories).toEqual([]);
    }
  });
});
