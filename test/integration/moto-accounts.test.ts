import { CreateClusterCommand, type ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { AccountCredentials, type Operation } from '../../lib/aws/account-credentials';
import { createEcsClient } from '../../lib/aws/clients/ecs';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createStsClient } from '../../lib/aws/clients/sts';
import { motoEndpoint, resetMoto } from '../support/moto';

/**
 * A control plane in account 111111111111 (us-east-1) acting in account 222222222222 (eu-west-1) through
 * AccountCredentials, on moto: an emulator that keeps a backend per account, tells the account from the
 * access key a request is signed with, and implements sts:AssumeRole (its keys belong to the role's account).
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = '222222222222';
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-createDeployment`;
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/slipway-member`;
const DEPLOYMENT: Operation = {
  id: 'd-moto-accounts-1',
  principal: 'ci-deployer',
  app: 'shop',
  environment: 'staging',
};

let env: Record<string, string>;
let own: AwsCredentialIdentity;
let accounts: AccountCredentials;

const clusterArns = async (ecs: ECSClient) => (await ecs.send(new ListClustersCommand({}))).clusterArns ?? [];

beforeAll(async () => {
  const endpoint = motoEndpoint();
  await resetMoto(endpoint);
  env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' };
  // Given the function's own credentials, as Lambda gives them: a session on its role in the control plane's account
  const bootstrap = createStsClient(env);
  const { Credentials } = await bootstrap.send(
    new AssumeRoleCommand({ RoleArn: FUNCTION_ROLE, RoleSessionName: 'slipway-prod-createDeployment' }),
  );
  own = {
    accessKeyId: Credentials?.AccessKeyId as string,
    secretAccessKey: Credentials?.SecretAccessKey as string,
    sessionToken: Credentials?.SessionToken as string,
  };
  // And the member account's external id in the control plane's Secrets Manager
  const secrets = createSecretsManagerClient(env, own);
  await secrets.send(
    new CreateSecretCommand({ Name: 'slipway/staging-external-id', SecretString: 'shop-staging-7f3a' }),
  );
  accounts = new AccountCredentials(
    { staging: { roleArn: MEMBER_ROLE, externalIdSecret: 'slipway/staging-external-id' } },
    { sts: createStsClient(env, own), secrets, env },
  );
});

describe('AccountCredentials against moto', () => {
  it('signs the control plane’s own calls as 111111111111', async () => {
    const identity = await createStsClient(env, own).send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(CONTROL_PLANE);
  });

  it('acts in 222222222222 as a session on its role named after the operation', async () => {
    // When the member account's identity is asked through a client the module built
    const sts = accounts.client(createStsClient, { account: 'staging', region: 'eu-west-1' }, DEPLOYMENT);
    const identity = await sts.send(new GetCallerIdentityCommand({}));

    // Then the caller is the deployment's session on the member role
    expect(identity.Account).toBe(MEMBER);
    expect(identity.Arn).toBe(`arn:aws:sts::${MEMBER}:assumed-role/slipway-member/${DEPLOYMENT.id}`);
  });

  it('creates an ECS cluster in 222222222222/eu-west-1 that only that account and region see', async () => {
    // Given an ECS client for the member account in eu-west-1, through the module
    const member = accounts.client(createEcsClient, { account: 'staging', region: 'eu-west-1' }, DEPLOYMENT);

    // When a cluster is created with it
    const { cluster } = await member.send(new CreateClusterCommand({ clusterName: 'shop-staging' }));

    // Then it is the member account's, in eu-west-1, and that account and region list it
    expect(cluster?.clusterArn).toBe(`arn:aws:ecs:eu-west-1:${MEMBER}:cluster/shop-staging`);
    expect(await clusterArns(member)).toEqual([cluster?.clusterArn]);
    // And the member account's other region does not
    const memberUsEast = accounts.client(createEcsClient, { account: 'staging', region: 'us-east-1' }, DEPLOYMENT);
    expect(await clusterArns(memberUsEast)).toEqual([]);
    // Nor the control plane's own account in eu-west-1, with the function's own credentials
    expect(await clusterArns(createEcsClient({ ...env, AWS_REGION: 'eu-west-1' }, own))).toEqual([]);
    // Nor moto's default account (123456789012), which unsigned emulator calls land in
    expect(await clusterArns(createEcsClient({ ...env, AWS_REGION: 'eu-west-1' }))).toEqual([]);
  });
});
