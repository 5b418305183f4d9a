import { readFileSync } from 'node:fs';
import { DescribeRepositoriesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import type { AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { makeHandler as makeEcrImageAction } from '../../functions/events/ecr-image-action';
import { createEcrClient } from '../../lib/aws/clients/ecr';
import { createStsClient } from '../../lib/aws/clients/sts';
import { configSchema } from '../../lib/config/schema';
import { Deployments } from '../../lib/deploy/deployments';
import type { DeadLetters } from '../../lib/events/dead-letter';
import type { Publisher } from '../../lib/notify/publisher';
import { Releases } from '../../lib/release/releases';
import { DeploymentStore } from '../../lib/store/deployments';
import { dynamoDbIdempotency } from '../../lib/store/idempotency';
import { EnvironmentLocks } from '../../lib/store/locks';
import { ReleaseStore } from '../../lib/store/releases';
import { auditOn } from '../support/audit';
import { lambdaContext } from '../support/http';
import { motoEndpoint } from '../support/moto';
import { controlPlaneAndMember, controlPlaneOn, SHOP_MEMBER } from '../support/moto-member';

/**
 * A release from a repository in another account and region, end to end on moto (a backend per account and
 * region, sts:AssumeRole implemented): shop's repository and its staging service are in 222222222222/eu-west-1,
 * the control plane in 111111111111/us-east-1. The ECR Image Action event of a push there, as 222222222222's rule
 * forwards it (events/ecr.image-push.forwarded.json), handled by the real handler, reads the image through the
 * release's session on the member's role and deploys it by digest to staging; the same event claimed by another
 * account config names is ignored.
 */

const CONTROL_PLANE = '111111111111';
const MEMBER = SHOP_MEMBER.account;
const OTHER_MEMBER = '333333333333';
const MEMBER_REGION = SHOP_MEMBER.region;
const FUNCTION_ROLE = `arn:aws:iam::${CONTROL_PLANE}:role/slipway-prod-ecrImageAction`;
const { role: MEMBER_ROLE, repositoryName: REPOSITORY_NAME, repository: REPOSITORY } = SHOP_MEMBER;
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
let own: AwsCredentialIdentity;
let member: { ecs: ECSClient; ecr: ECRClient };
let store: DeploymentStore;
let onPush: (event: unknown) => Promise<unknown>;
let running: { taskDefinitionArn: string; digest: string };
let candidate: string;
/** The AssumeRole requests the control plane sends. */
const assumed: AssumeRoleCommandInput[] = [];

const serviceIn = async (ecs: ECSClient) =>
  (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-staging', services: ['backend'] }))).services?.[0];

/** AWS's push sample as 222222222222's rule forwards it, for the image pushed; `account` claimed as given. */
function forwardedPush(digest: string, account: string = MEMBER) {
  const event = JSON.parse(readFileSync('events/ecr.image-push.forwarded.json', 'utf8'));
  event.detail['image-digest'] = digest;
  event.account = account;
  return event;
}

beforeAll(async () => {
  // Given the function's own credentials in the control plane's account, the member's external id there, and, in
  // 222222222222/eu-west-1, shop's repository with 1.4.2, running on the staging service, and 1.5.0 pushed
  const seeded = await controlPlaneAndMember({
    endpoint: motoEndpoint(),
    functionRole: FUNCTION_ROLE,
    cidr: '10.40.0.0/16',
  });
  ({ env, own, member, running, candidate } = { ...seeded, ...seeded.member });
  const { secrets } = seeded;

  // And the control plane's state table, its sessions on the accounts config names (AssumeRole requests recorded),
  // and the release and deploy use cases as the functions wire them
  const sts = createStsClient(env, own);
  sts.middlewareStack.add(
    (next) => async (args) => {
      assumed.push(args.input as AssumeRoleCommandInput);
      return next(args);
    },
    { step: 'initialize' },
  );
  const { documents, ecsFor, ecrFor } = await controlPlaneOn(env, own, {
    accounts: config.accounts,
    secrets,
    table: TABLE,
    sts,
  });
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
      const ecr = createEcrClient({ ...env, AWS_REGION: region }, own);
      expect((await ecr.send(new DescribeRepositoriesCommand({}))).repositories).toEqual([]);
    }
  });
});
