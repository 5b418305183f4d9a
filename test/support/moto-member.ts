import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import { AccountCredentials, type AccountRole } from '../../lib/aws/account-credentials';
import { clientConfig } from '../../lib/aws/client-config';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createStsClient } from '../../lib/aws/clients/sts';
import type { DeploymentsDeps } from '../../lib/deploy/deployments';
import { resetMoto } from './moto';
import {
  createRepository,
  createService,
  fixtureRegistration,
  pushImage,
  registerTaskDefinition,
  sessionOn,
} from './moto-aws';
import { createStateTable } from './resources';

/**
 * A control plane and a member account on moto (a backend per account and region, sts:AssumeRole implemented),
 * as the cross-account flows set them up: sessions on roles, a member's repository and service, and the control
 * plane's state table with its sessions on the accounts config names.
 */

type Env = Record<string, string>;

export interface MemberService {
  ecs: ECSClient;
  ecr: ECRClient;
  /** The revision the service runs, pinned to the first image's digest. */
  running: { taskDefinitionArn: string; digest: string };
  /** The second image's digest, pushed and not running. */
  candidate: string;
}

/**
 * In the member's `region`, as `seeding`: the repository with two images (`tags`: the running one's, the
 * candidate's), and the Fargate service `cluster`/`service` running the first, in a network of `cidr` (a /16).
 */
export async function seedMemberService(
  env: Env,
  seeding: AwsCredentialIdentity,
  options: {
    region: string;
    repository: string;
    cluster: string;
    service: string;
    cidr: string;
    tags: [string, string];
  },
): Promise<MemberService> {
  const memberEnv = { ...env, AWS_REGION: options.region };
  const ecs = createEcsClient(memberEnv, seeding);
  const ecr = createEcrClient(memberEnv, seeding);
  const repositoryName = options.repository.split('/').slice(1).join('/');
  await createRepository(ecr, repositoryName);
  const runningDigest = await pushImage(ecr, repositoryName, options.tags[0], 'running');
  const candidate = await pushImage(ecr, repositoryName, options.tags[1], 'candidate');
  const ec2 = new EC2Client(clientConfig('ecs', memberEnv, seeding));
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: options.cidr }));
  const { Subnet } = await ec2.send(
    new CreateSubnetCommand({
      VpcId: Vpc?.VpcId,
      CidrBlock: options.cidr.replace(/\.0\.0\/16$/, '.1.0/24'),
      AvailabilityZone: `${options.region}a`,
    }),
  );
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({ VpcId: Vpc?.VpcId, GroupName: 'shop', Description: 'shop (Slipway tests)' }),
  );
  const taskDefinitionArn = await registerTaskDefinition(
    ecs,
    fixtureRegistration(`${options.repository}@${runningDigest}`),
  );
  await createService(ecs, {
    cluster: options.cluster,
    service: options.service,
    taskDefinitionArn,
    network: {
      vpcId: Vpc?.VpcId as string,
      subnetIds: [Subnet?.SubnetId as string],
      securityGroupId: GroupId as string,
    },
  });
  return { ecs, ecr, running: { taskDefinitionArn, digest: runningDigest }, candidate };
}

/**
 * The control plane's state table `table` in its own account, and its ECS and ECR ports as the wiring makes them
 * (lib/wiring/accounts.ts): a session on an account's role where one is asked for, the function's own credentials
 * (`own`) elsewhere. `sts` is the control plane's own STS client (its requests may be recorded).
 */
export async function controlPlaneOn(
  env: Env,
  own: AwsCredentialIdentity,
  options: {
    accounts: Record<string, AccountRole>;
    secrets: SecretsManagerClient;
    table: string;
    sts?: STSClient;
  },
): Promise<{
  documents: DynamoDBDocumentClient;
  /** The sessions on the accounts' roles, for the ports a flow needs beyond ECS and ECR. */
  accounts: AccountCredentials;
  ecsFor: DeploymentsDeps['ecsFor'];
  ecrFor: DeploymentsDeps['ecrFor'];
}> {
  const dynamo = createDynamoDbClient(env, own);
  await createStateTable(dynamo, options.table);
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const accounts = new AccountCredentials(options.accounts, {
    sts: options.sts ?? createStsClient(env, own),
    secrets: options.secrets,
    env,
  });
  return {
    documents,
    accounts,
    ecsFor: (place, operation) => accounts.client(createEcsClient, place, operation),
    ecrFor: (region, session) =>
      session
        ? accounts.client(createEcrClient, { account: session.account, region }, session.operation)
        : createEcrClient({ ...env, AWS_REGION: region }, own),
  };
}

/** shop/staging in member account 222222222222's eu-west-1, as the cross-account flows place it. */
export const SHOP_MEMBER = {
  account: '222222222222',
  region: 'eu-west-1',
  role: 'arn:aws:iam::222222222222:role/slipway-member',
  externalId: { secret: 'slipway/staging-external-id', value: 'shop-staging-7f3a' },
  repositoryName: 'shop-backend',
  repository: '222222222222.dkr.ecr.eu-west-1.amazonaws.com/shop-backend',
  cluster: 'shop-staging',
  service: 'backend',
  /** The tags of the image the service runs, and of the candidate. */
  tags: ['1.4.2', '1.5.0'] as [string, string],
} as const;

/**
 * A fresh moto (every account and region forgotten) with the control plane in us-east-1: the function's own
 * credentials (a session on `functionRole`), the member account's external id in a secret of the control plane's,
 * and SHOP_MEMBER's repository and service seeded by an operator's session on its role, in a network of `cidr`.
 */
export async function controlPlaneAndMember(options: {
  endpoint: string;
  functionRole: string;
  cidr: string;
}): Promise<{ env: Env; own: AwsCredentialIdentity; secrets: SecretsManagerClient; member: MemberService }> {
  await resetMoto(options.endpoint);
  const env = { AWS_ENDPOINT_URL: options.endpoint, AWS_REGION: 'us-east-1' };
  const own = await sessionOn(env, options.functionRole, options.functionRole.split('/').at(-1) as string);
  const secrets = createSecretsManagerClient(env, own);
  const { externalId } = SHOP_MEMBER;
  await secrets.send(new CreateSecretCommand({ Name: externalId.secret, SecretString: externalId.value }));
  const seeding = await sessionOn(env, SHOP_MEMBER.role, 'operator-seeding', own);
  return {
    env,
    own,
    secrets,
    member: await seedMemberService(env, seeding, { ...SHOP_MEMBER, cidr: options.cidr }),
  };
}
